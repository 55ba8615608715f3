/* Mail transfers: SMTP submission (smtp://, smtps://) and IMAP commands (imap://, imaps://) for
 * plugins (core/plugin/mail.c), run on one worker thread ("td-mail", started with the first
 * transfer) with its own libcurl multi handle, never on the loop thread.
 *
 * What every transfer gets, whatever the caller asks:
 *  - protocols limited to the URL's own scheme (one of the four above), no redirects, no proxy
 *    from the environment; TLS >= 1.2 with peer and host verification; STARTTLS required
 *    (require_tls) or used when offered; smtps/imaps use implicit TLS;
 *  - a total timeout (default 30 s; connect at most 10 s of it) and a response cap (default
 *    1 MiB) enforced while receiving;
 *  - bounded input: body <= 10 MiB, <= 100 recipients, addresses, credentials and the IMAP
 *    command on one line each and of bounded length.
 *
 * No SSRF guard: unlike webhook URLs, these URLs come from the admin's configuration (the SMTP
 * relay and IMAP mailbox of the installation), never from an ordinary user, and a relay on
 * loopback or on the private network is the normal case. The callers (plugins with the net.mail
 * permission) must not pass user-chosen URLs.
 *
 * Errors given to the callback never contain the URL, credentials, addresses or the server's
 * text (which may quote an address): they name what happened and the server's code.
 *
 * IMAP: with a command, the body is the untagged lines ("* SEARCH 3 7\r\n"). libcurl drops the
 * contents of literals in a command's response, so "UID FETCH 7 BODY.PEEK[]" as a command gives
 * only "* 1 FETCH (UID 7 BODY[] {40}\r\n": fetch a message through the URL instead
 * (imap://host/INBOX;UID=7, or ;SECTION=HEADER), which gives its exact bytes.
 *
 * Why a thread: libcurl (7.88, and still in curl's TODO "More non-blocking"; curl issue 8555)
 * waits INSIDE curl_multi_socket_action / curl_multi_perform for the SMTP server's reply to the
 * end of DATA, and for IMAP's final OK after a URL fetch. On the loop that stalled every request
 * for as long as the server took (1.35 s for an API GET against a server answering after 1.5 s).
 * On the worker it stalls only the worker: other mail transfers wait for that reply (they run
 * concurrently on the worker's multi handle otherwise), the loop never does. A server that hangs
 * there holds the worker up to that transfer's timeout.
 *
 * Threading: td__mail_check from any thread; everything else on the loop thread of the first
 * transfer. The request is copied and queued to the worker (a mutex-protected queue and
 * curl_multi_wakeup); results come back through a queue and a uv_async_t, and the callback runs on
 * the loop thread from a later loop turn, or from inside td__mail_xfer_close with "cancelled".
 * The worker's only libuv call is uv_async_send. */
#ifndef TD_NET_MAIL_XFER_H
#define TD_NET_MAIL_XFER_H

#include <stddef.h>

#include "net/client.h"
#include "talentd/plugin.h"

#define TD_MAIL_MAX_BODY (10u * 1024u * 1024u)
#define TD_MAIL_MAX_RCPT 100
#define TD_MAIL_DEFAULT_TIMEOUT_MS 30000u
#define TD_MAIL_MAX_TIMEOUT_MS 600000u
#define TD_MAIL_DEFAULT_RESPONSE (1024u * 1024u)
#define TD_MAIL_MAX_RESPONSE (32u * 1024u * 1024u)

/* res and everything it points to are borrowed until the callback returns. */
typedef void (*td__mail_done_fn)(const td_mail_response_t *res, void *data);

/* Checks req (borrowed) without starting anything. Returns 0, or TD_EINVAL with a sentence
 * naming the member that is wrong in why (no secrets, no addresses). */
int td__mail_check(const td_mail_request_t *req, char *why, size_t why_size);

/* Starts a transfer for the server whose outbound client is net (its loop runs the callback;
 * a closing net refuses new transfers); req and everything it points to are copied. Returns 0
 * and then cb(data) runs exactly once (see Threading above); or, with cb never called, TD_EINVAL
 * (a bad request: the reason in why), TD_EBUSY (the server is stopping) or TD_EIO (the mail
 * thread could not be started). */
int td__mail_xfer_start(td__net_t *net, const td_mail_request_t *req, td__mail_done_fn cb, void *data,
                        char *why, size_t why_size);

/* Stops the mail thread: every transfer not finished completes with "cancelled" (not permanent)
 * from inside this call, after its connection was shut down (no truncated message goes out,
 * no reply is waited for); queued ones never start. The thread is joined (it has been woken and
 * its sockets shut down, so this takes milliseconds; a host-name lookup in progress is waited
 * for, as curl joins its resolver thread). New transfers are refused (TD_EBUSY) until
 * on_closed(data) (optional) runs from the loop once the worker's handle has closed; when no
 * transfer was ever started, on_closed runs before this returns. A second call while closing
 * does nothing. Loop thread only. */
void td__mail_xfer_close(void (*on_closed)(void *data), void *data);

/* SMTP messages the mail thread starts per second at most, across every plugin (IMAP commands
 * are not paced): mail.max_messages_per_second. A burst of queued mail then leaves the CPU to
 * requests instead of taking both cores for seconds. 0: no limit. Call before the first
 * transfer (the mail thread reads it when it starts). Loop thread only. */
#define TD_MAIL_DEFAULT_PER_SECOND 1000
void td__mail_xfer_configure(double messages_per_second);

/* Transfers started and not yet finished (for tests and metrics). */
size_t td__mail_xfer_active(void);

#endif
