// Tether — the Runs screen's one script. Everything works without it (forms post and the page
// refreshes itself); with it, progress arrives live over Server-Sent Events and Stop answers
// at once. It touches only the stable hooks the server renders.
//
// It decides nothing the server decides: chip labels, the Stop button's labels and which
// events open or close the step in flight come from the page (data- attributes), and chips
// are copies of the server's own chip markup.
(function () {
  'use strict';

  var run = document.getElementById('run');
  if (!run) { return; }

  function json(attribute) {
    try { return JSON.parse(run.getAttribute(attribute)) || {}; } catch (error) { return {}; }
  }
  var LABELS = json('data-status-labels');
  var STEP_EFFECTS = json('data-step-effects');
  var runId = run.getAttribute('data-run-id');
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var log = document.getElementById('progress-log');
  var stopForm = document.getElementById('stop-form');
  var stopButton = document.getElementById('stop-button');
  var forceForm = document.getElementById('force-form');
  var liveNotice = document.getElementById('live-notice');
  var shownChip = document.querySelector('#run-status .chip');
  var status = shownChip ? shownChip.getAttribute('data-status') : 'running';
  var forceTimer = null;
  var STOP = stopButton.getAttribute('data-stop-label');
  var STOPPING = stopButton.getAttribute('data-stopping-label');

  // How deep each run sits below the one shown, from the rows the server rendered.
  var depthOf = {};
  depthOf[runId] = 0;
  Array.prototype.forEach.call(log.querySelectorAll('.event'), function (row) {
    var match = /depth-(\d+)/.exec(row.className);
    depthOf[row.getAttribute('data-run-id')] = match ? Number(match[1]) : 0;
  });

  // A copy of the chip the server rendered for this run, set to `state`.
  var chipPattern = shownChip || document.querySelector('.chip');
  if (!chipPattern) { return; }
  function chip(state) {
    var copy = chipPattern.cloneNode(true);
    copy.setAttribute('data-status', state);
    copy.querySelector('.chip-label').textContent = LABELS[state] || state;
    return copy;
  }

  function setChip(container, state) {
    if (!container) { return; }
    container.textContent = '';
    container.appendChild(chip(state));
  }

  function notice(text) {
    liveNotice.textContent = text;
    liveNotice.hidden = false;
  }

  // The Stop button's states (DESIGN §5), as the server renders them.
  function showStopState(state) {
    status = state;
    if (state === 'running') {
      stopButton.disabled = false;
      stopButton.textContent = STOP;
    } else if (state === 'stopping') {
      stopButton.disabled = true;
      stopButton.textContent = STOPPING;
      scheduleForce();
    } else {
      stopButton.disabled = true;
      stopButton.textContent = STOP;
      forceForm.hidden = true;
      if (forceTimer) { clearTimeout(forceTimer); forceTimer = null; }
    }
  }

  // "Force stop" appears once the grace period has passed in stopping.
  function scheduleForce() {
    if (forceTimer || !forceForm.hidden) { return; }
    var grace = Number(run.getAttribute('data-grace-seconds')) * 1000;
    var since = Date.parse(run.getAttribute('data-stop-requested-at')) || Date.now();
    var left = Math.max(0, since + grace - Date.now());
    forceTimer = setTimeout(function () {
      forceTimer = null;
      if (status === 'stopping') { forceForm.hidden = false; }
    }, left);
  }

  function clock(at) {
    return typeof at === 'string' && at.length >= 23 ? at.substring(11, 23) : '';
  }

  // The step in flight of each run, by the server's rule: an event opens its run's step,
  // keeps it, or closes it.
  function trackStep(event, row) {
    var effect = STEP_EFFECTS[event.kind] || 'closes';
    if (effect !== 'keeps') {
      Array.prototype.forEach.call(log.querySelectorAll('.in-flight[data-run-id="' + event.runId + '"]'),
        function (open) { open.classList.remove('in-flight'); });
    }
    if (effect === 'opens') { row.classList.add('in-flight'); }
    showCurrentStep();
  }

  function showCurrentStep() {
    var rows = log.querySelectorAll('.in-flight');
    var step = document.getElementById('current-step');
    if (rows.length) {
      document.getElementById('current-step-text').textContent =
        rows[rows.length - 1].querySelector('.message').textContent;
      step.hidden = false;
    } else {
      step.hidden = true;
    }
  }

  function addSubRun(childId, agent, depth) {
    var list = document.getElementById('subrun-list');
    if (list.querySelector('[data-subrun="' + childId + '"]')) { return; }
    var item = document.createElement('li');
    item.className = 'depth-' + Math.min(depth, 8);
    item.setAttribute('data-subrun', childId);
    var link = document.createElement('a');
    link.href = '/runs/' + childId;
    link.textContent = agent;
    var holder = document.createElement('span');
    holder.setAttribute('data-chip-for', childId);
    holder.appendChild(chip('running'));
    item.appendChild(link);
    item.appendChild(document.createTextNode(' '));
    item.appendChild(holder);
    list.appendChild(item);
    document.getElementById('subruns').hidden = false;
  }

  // Screen readers hold announcements while the log is busy: a burst of events (a replay
  // after a reconnect, a fast step) is announced once it has landed, not row by row.
  var settleTimer = null;
  function markBusy() {
    log.setAttribute('aria-busy', 'true');
    if (settleTimer) { clearTimeout(settleTimer); }
    settleTimer = setTimeout(function () {
      settleTimer = null;
      log.setAttribute('aria-busy', 'false');
    }, 400);
  }

  // "Replayed 8 steps: 7 LLM calls, 1,240 tokens not paid again": the words of the server's
  // own line for a stretch of replayed steps (ReplaySummary), counted on as more arrive.
  function replaySummary(steps, calls, tokens) {
    var counted = steps === 1 ? '1 step' : steps + ' steps';
    if (calls === 0) { return 'Replayed ' + counted + ': nothing done again'; }
    var text = 'Replayed ' + counted + ': ' + (calls === 1 ? '1 LLM call' : calls + ' LLM calls');
    if (tokens > 0) { text += ', ' + tokens.toLocaleString('en-US') + ' tokens'; }
    return text + ' not paid again';
  }

  // A replayed event joins the line of the replayed steps just before it, of the same run;
  // log lines the agent wrote again in between go into it too, as the server renders it.
  function addReplayed(event) {
    var last = log.lastElementChild;
    var between = [];
    while (last && last.getAttribute('data-kind') === 'log' && last.getAttribute('data-run-id') === event.runId) {
      between.push(last);
      last = last.previousElementSibling;
    }
    if (!last || last.getAttribute('data-kind') !== 'replayed' || last.getAttribute('data-run-id') !== event.runId) {
      return false;
    }
    between.forEach(function (row) { log.removeChild(row); });
    if (Number(last.getAttribute('data-last-seq')) >= event.seq) { return true; }
    var usage = event.data && event.data.usage;
    var steps = Number(last.getAttribute('data-steps')) + 1;
    var calls = Number(last.getAttribute('data-llm-calls')) + (event.data && event.data.boundary === 'llm' ? 1 : 0);
    var tokens = Number(last.getAttribute('data-tokens')) + (usage && usage.totalTokens ? usage.totalTokens : 0);
    last.setAttribute('data-last-seq', String(event.seq));
    last.setAttribute('data-steps', String(steps));
    last.setAttribute('data-llm-calls', String(calls));
    last.setAttribute('data-tokens', String(tokens));
    last.querySelector('.message').textContent = replaySummary(steps, calls, tokens);
    return true;
  }

  // The usage line counts on as calls finish, in the words of the server's (UsageCount).
  var usageLine = document.getElementById('run-usage');
  function grouped(number) { return number.toLocaleString('en-US'); }
  function countUsage(event) {
    if (!usageLine || event.kind !== 'llm.finished') { return; }
    var data = event.data || {};
    var tokens = data.usage || {};
    var count = function (name) { return Number(usageLine.getAttribute(name)) || 0; };
    var calls = count('data-llm-calls') + 1;
    var prompt = count('data-prompt-tokens') + (tokens.promptTokens || 0);
    var completion = count('data-completion-tokens') + (tokens.completionTokens || 0);
    var total = count('data-total-tokens') + (tokens.totalTokens || 0);
    var seconds = count('data-seconds') + (data.durationMs || 0) / 1000;
    var known = usageLine.getAttribute('data-cost');
    var cost = typeof data.cost === 'number' && (calls === 1 || known !== '') ? (calls === 1 ? 0 : Number(known)) + data.cost : null;
    usageLine.setAttribute('data-llm-calls', String(calls));
    usageLine.setAttribute('data-prompt-tokens', String(prompt));
    usageLine.setAttribute('data-completion-tokens', String(completion));
    usageLine.setAttribute('data-total-tokens', String(total));
    usageLine.setAttribute('data-seconds', String(seconds));
    usageLine.setAttribute('data-cost', cost === null ? '' : String(cost));
    var parts = [calls === 1 ? '1 LLM call' : grouped(calls) + ' LLM calls',
      grouped(total) + ' tokens (' + grouped(prompt) + ' prompt, ' + grouped(completion) + ' completion)',
      seconds < 10 ? seconds.toFixed(1) + ' s in calls' : Math.round(seconds) + ' s in calls'];
    if (cost !== null) { parts.push('cost ' + cost.toFixed(4)); }
    document.getElementById('run-usage-text').textContent = parts.join(' \u00b7 ');
  }

  // The LLM calls in flight: a clock and the text streamed so far under their llm.started
  // row, in a copy of the server's empty block, so the words are its. The block comes in a
  // comment (#answer-template), which text-mode browsers do not show.
  var answerPattern = (function () {
    var holder = document.getElementById('answer-template');
    var comment = holder && holder.firstChild;
    if (!comment || comment.nodeType !== 8) { return null; }
    var parsed = document.createElement('div');
    parsed.innerHTML = comment.nodeValue;
    return parsed.querySelector('.answer-in-flight');
  })();
  var skew = (Number(run.getAttribute('data-server-time')) || Date.now()) - Date.now();
  var answered = {};
  function answerBlock(seq, startedMs) {
    if (answered[seq] || !answerPattern) { return null; }
    var row = log.querySelector('li[data-seq="' + seq + '"][data-kind="llm.started"]');
    if (!row) { return null; }
    var block = row.querySelector('.answer-in-flight');
    if (!block) {
      block = answerPattern.cloneNode(true);
      block.setAttribute('data-answer-seq', String(seq));
      block.setAttribute('data-started-ms', String(startedMs || Date.now() + skew));
      row.appendChild(block);
      tickClocks();
    }
    return block;
  }
  function tickClocks() {
    Array.prototype.forEach.call(log.querySelectorAll('.answer-in-flight'), function (block) {
      var since = Date.now() + skew - Number(block.getAttribute('data-started-ms'));
      block.querySelector('.call-seconds').textContent = String(Math.max(0, Math.floor(since / 1000)));
    });
  }
  function endAnswer(seq) {
    answered[seq] = true;
    var block = log.querySelector('.answer-in-flight[data-answer-seq="' + seq + '"]');
    if (block) { block.parentNode.removeChild(block); }
  }
  // A delta frame: the text after `offset` characters of what the call has streamed.
  function onDelta(frame) {
    var block = answerBlock(frame.seq, null);
    if (!block) { return; }
    var text = block.querySelector('.partial-answer');
    var shown = text.textContent;
    if (frame.offset > shown.length) { return; }
    text.textContent = shown.substring(0, frame.offset) + frame.text;
    block.querySelector('.call-tokens').textContent = grouped(frame.chunks || 0);
    block.querySelector('.call-tokens-part').hidden = !frame.chunks;
  }
  var clockTimer = run.getAttribute('data-in-flight') === 'true' ? setInterval(tickClocks, 1000) : null;

  // One row per event; a reconnect that replays an event already shown adds nothing.
  function addEvent(event) {
    if (log.querySelector('[data-seq="' + event.seq + '"]')) { return; }
    if (event.kind === 'replayed' && addReplayed(event)) { return; }
    countUsage(event);
    var depth = depthOf[event.runId] || 0;
    if (event.kind === 'agent.called' && event.data && event.data.runId) {
      depthOf[event.data.runId] = depth + 1;
      addSubRun(event.data.runId, event.data.agent || 'agent', depth + 1);
    }
    var row = document.createElement('li');
    row.className = 'event depth-' + Math.min(depth, 8);
    row.setAttribute('data-seq', String(event.seq));
    row.setAttribute('data-run-id', event.runId);
    row.setAttribute('data-kind', event.kind);
    var time = document.createElement('span');
    time.className = 'time';
    time.title = event.at;
    time.textContent = clock(event.at);
    var message = document.createElement('span');
    message.className = 'message';
    message.textContent = event.message;
    if (event.kind === 'replayed') {
      var usage = event.data && event.data.usage;
      var calls = event.data && event.data.boundary === 'llm' ? 1 : 0;
      var tokens = usage && usage.totalTokens ? usage.totalTokens : 0;
      row.className += ' replayed';
      row.setAttribute('data-last-seq', String(event.seq));
      row.setAttribute('data-steps', '1');
      row.setAttribute('data-llm-calls', String(calls));
      row.setAttribute('data-tokens', String(tokens));
      message.textContent = replaySummary(1, calls, tokens);
    }
    row.appendChild(time);
    row.appendChild(message);
    var detail = event.kind === 'llm.finished' ? event.data && event.data.text
      : event.kind === 'llm.failed' ? event.data && event.data.error : null;
    if (detail) {
      var pre = document.createElement('pre');
      pre.className = 'detail';
      pre.textContent = detail.length > 600 ? detail.substring(0, 599) + '\u2026' : detail;
      row.appendChild(pre);
    }
    markBusy();
    log.appendChild(row);
    trackStep(event, row);
    if (event.kind === 'llm.started') { answerBlock(event.seq, Date.parse(event.at)); }
    if ((event.kind === 'llm.finished' || event.kind === 'llm.failed') && event.data && event.data.startedSeq) {
      endAnswer(event.data.startedSeq);
    }
  }

  function onStatus(frame) {
    if (frame.runId === runId) {
      setChip(document.getElementById('run-status'), frame.status);
      showStopState(frame.status);
      if (frame.status === 'stopping' && !run.getAttribute('data-stop-requested-at')) {
        run.setAttribute('data-stop-requested-at', new Date().toISOString());
      }
    }
    // Sub-runs and the recent-runs list show the same run's chip.
    Array.prototype.forEach.call(document.querySelectorAll('[data-chip-for="' + frame.runId + '"]'),
      function (holder) { setChip(holder, frame.status); });
  }

  function onDone(frame, source) {
    source.close();
    onStatus({ runId: frame.runId, status: frame.status });
    var outcome = document.getElementById('run-outcome');
    if (frame.status === 'succeeded') {
      var result = frame.result;
      document.getElementById('run-result-text').textContent =
        typeof result === 'string' ? result : JSON.stringify(result, null, 2);
      document.getElementById('run-result').hidden = false;
    }
    if (frame.error) {
      document.getElementById('run-error-text').textContent = frame.error;
      document.getElementById('run-error').hidden = false;
    }
    var reason = document.getElementById('stop-reason');
    if (reason && frame.status === 'stopped' && frame.stopReason && frame.stopReason.message) {
      reason.textContent = (LABELS.stopped || 'Stopped') + ': ' + frame.stopReason.message;
      reason.hidden = false;
    }
    outcome.hidden = false;
    var resume = document.getElementById('resume-form');
    if (resume && frame.runId === runId) {
      resume.hidden = (resume.getAttribute('data-resumable') || '').split(' ').indexOf(frame.status) < 0;
    }
    document.getElementById('current-step').hidden = true;
    Array.prototype.forEach.call(log.querySelectorAll('.in-flight'), function (row) { row.classList.remove('in-flight'); });
    Array.prototype.forEach.call(log.querySelectorAll('.answer-in-flight'), function (block) {
      endAnswer(block.getAttribute('data-answer-seq'));
    });
    if (clockTimer) { clearInterval(clockTimer); }
    document.title = run.querySelector('.run-agent').textContent + ' \u00b7 ' + (LABELS[frame.status] || frame.status) + ' \u2014 Tether';
  }

  function parse(message) {
    try { return JSON.parse(message.data); } catch (error) { return null; }
  }

  // Stop through fetch: "Stopping…" shows at once, before the server answers.
  function post(url, onRefused) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' }
    }).then(function (response) {
      if (response.status === 409) {
        notice('Stop arrived after the run had already finished.');
      } else if (!response.ok) {
        onRefused();
        notice('The stop was refused (HTTP ' + response.status + '). Reload the page and try again.');
      }
    }, function () {
      onRefused();
      notice('The stop could not reach the server. Check the connection and try again.');
    });
  }

  stopForm.addEventListener('submit', function (event) {
    event.preventDefault();
    if (stopButton.disabled) { return; }
    var previous = status;
    showStopState('stopping');
    setChip(document.getElementById('run-status'), 'stopping');
    post(run.getAttribute('data-stop-url'), function () {
      showStopState(previous);
      setChip(document.getElementById('run-status'), previous);
    });
  });

  forceForm.addEventListener('submit', function (event) {
    event.preventDefault();
    document.getElementById('force-button').disabled = true;
    post(run.getAttribute('data-stop-url') + '?force=true', function () {
      document.getElementById('force-button').disabled = false;
    });
  });

  if (status === 'stopping') { scheduleForce(); }
  if (run.getAttribute('data-in-flight') !== 'true' || !window.EventSource) { return; }

  // Live progress. The URL resumes after the last event the page already shows; after a
  // dropped connection the browser reconnects with Last-Event-ID, which the server prefers.
  var source = new EventSource(run.getAttribute('data-events-url'));
  source.addEventListener('progress', function (message) {
    var event = parse(message);
    if (event) { addEvent(event); }
  });
  source.addEventListener('status', function (message) {
    var frame = parse(message);
    if (frame) { onStatus(frame); }
  });
  source.addEventListener('delta', function (message) {
    var frame = parse(message);
    if (frame) { onDelta(frame); }
  });
  source.addEventListener('done', function (message) {
    var frame = parse(message);
    if (frame) { onDone(frame, source); }
  });
}());
