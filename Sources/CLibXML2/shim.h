// libxml2's HTML parser and XPath, for tests that check rendered pages.
// Debian builds libxml2 with ICU; its <unicode/ucnv.h> collides with Foundation's own ICU,
// so the ICU part of libxml2's headers is switched off here (see shared/NOTES.md).
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
