// Command kadmin is krb5prop's kadmin.local: it administers principals,
// policies and keytabs directly on the local database, with MIT krb5
// 1.20's command line, request language, messages and exit statuses, so
// scripts written for MIT's kadmin.local run unchanged. Install it as
// kadmin.local; like MIT, it names itself (in the prompt and in messages)
// after the name it was run as.
//
//	kadmin.local [-r realm] [-p principal] [-q query] [-d dbname]
//	             [-e "enc:salt ..."] [-m] [-x db_args]... [-w password]
//	             [-c ccache | -k [-t keytab] | -n] [-s server] [-O | -N]
//	             [request words...]
//
// A -q query runs one request and exits 0 unless the request is unknown.
// Request words after the options run one request in script mode: no
// informational output, no confirmations, and exit status 1 after any
// error. Otherwise requests are read from standard input: with line
// editing and history on a terminal, else line by line from the pipe,
// each echoed after the "kadmin.local:  " prompt as MIT's libss does
// through readline (SS_READLINE_PATH=none turns the echo off, as in
// libss). Passwords and confirmations asked for are read from the same
// input. The requests are those of kadmin_ct.ct (addprinc, getprinc,
// ktadd, setstr, "?" and the rest); a line starting with "!" runs a shell
// command. Dates (-expire, -pwexpire) follow MIT's getdate grammar and
// durations (-maxlife, policy times) krb5_string_to_deltat then getdate.
// -w, -s, -O and -N are accepted and ignored, as in MIT's local mode;
// -c, -k and -n only choose the name recorded as the last modifier.
//
// Where we differ from MIT's kadmin.local:
//
//   - A yes/no confirmation (delprinc, renprinc, delpol without -force)
//     read from a pipe consumes only its own line. MIT reads it through a
//     buffered stream and silently drops the rest of the piped requests.
//   - An unknown enctype or salt type in an -e or -allowedkeysalts list is
//     an error; MIT drops it silently and may fall back to the defaults.
//   - lock and unlock only keep state: every change is already atomic in
//     our store and the KDC keeps reading, so there is no lock to hold.
//   - On a terminal, line editing is golang.org/x/term's (history, arrow
//     keys) rather than readline's; there is no tab completion, a pager
//     is not used for "?", and Ctrl-C at the prompt ends the session
//     instead of giving a new prompt. In piped input a tab is ordinary
//     white space (readline would try to complete).
//   - Only FILE credential caches are read when choosing the
//     administrator's name; with any other cache type the name falls back
//     to $USER/admin, as MIT does for a cache without a principal.
//   - With -m the master password is asked for before the database is
//     opened, and errors from opening the database or its master key are
//     worded by our database layer.
//   - -m with -c or -k is refused with the error's name; MIT prints
//     "Unknown code ovk 43" there.
//   - -x accepts only dbname=PATH; anything else is refused, in MIT's DB2
//     wording.
package main
