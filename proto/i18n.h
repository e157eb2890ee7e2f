/* i18n.h -- messages people read go through gettext (GNU coreutils style).
 *
 * One text domain, "patrol", for libpatrol, proto/ and the patrol tool.
 * _() translates now; N_() marks a string in a static table for xgettext
 * and leaves it as is (translate it with _() where it is shown). Codes
 * (kinds, choice values, --json keys) are never translated. The catalogues
 * live in po/ (zh_CN.po) and are compiled by the build.
 */
#ifndef PX_I18N_H
#define PX_I18N_H

#include <libintl.h>

#define PX_TEXTDOMAIN "patrol"
#define _(s) dgettext(PX_TEXTDOMAIN, s)
#define N_(s) (s)

#endif
