"""Over a real socket: a server without an API token answers only to loopback names, so a
page that reaches it through DNS rebinding (its own name resolved to 127.0.0.1) is refused."""
import http.client
import json


def request(server, host):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/runs", headers={"Host": host, "Accept": "application/json"})
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    return response.status, body


def test_a_rebound_host_name_is_refused_and_loopback_names_are_served(server):
    status, body = request(server, f"evil.example:{server.port}")
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert "evil.example" in body["error"]["message"]
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "localhost"):
        status, body = request(server, host)
        assert status == 200 and "runs" in body, host
