/* The glue between libcurl's multi interface and a libuv loop: curl tells us which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION -> uv_poll) and when to call it back (CURLMOPT_TIMERFUNCTION
 * -> uv_timer); we feed readiness back with curl_multi_socket_action and report finished
 * transfers. It knows no protocol: HTTP (core/net/client.c) transfers are plain easy handles
 * added here. (SMTP and IMAP do not come here: libcurl blocks inside its calls while it waits
 * for some of their replies, so they run on a mail thread of their own, net/mail_xfer.h.)
 *
 * A transfer is a td__curl_xfer_t embedded in the owner's own struct (container-of style): the
 * glue sets CURLOPT_PRIVATE to it and calls xfer->done when curl reports the transfer finished.
 *
 * Threading: everything, including every callback, runs on the loop thread (ARCHITECTURE §3.3:
 * only the loop thread touches libuv handles). Nothing here blocks: curl_easy_perform is never
 * used (§3.4). */
#ifndef TD_NET_CURL_UV_H
#define TD_NET_CURL_UV_H

#include <curl/curl.h>
#include <uv.h>

typedef struct td__curl_uv td__curl_uv_t;
typedef struct td__curl_xfer td__curl_xfer_t;

/* Called once when the transfer finished (result CURLE_OK or the failure). The easy handle has
 * already been removed from the multi handle; the owner may now read CURLINFO_* and must
 * curl_easy_cleanup it (or reuse it). The callback may add and remove other transfers, but must
 * not call td__curl_uv_close. */
typedef void (*td__curl_xfer_done_fn)(td__curl_xfer_t *xfer, CURLcode result);

struct td__curl_xfer {
  CURL *easy;                   /* set by the owner; borrowed by the glue while added */
  td__curl_xfer_done_fn done;   /* set by the owner */
  td__curl_xfer_t *prev, *next; /* the glue's list of added transfers (the glue's own) */
  curl_socket_t socket; /* the socket curl last asked the glue to watch for it (the glue's own) */
};

/* Creates the glue on loop (borrowed; must outlive the glue). Returns 0 and the glue in *out,
 * or TD_ENOMEM/TD_EIO when curl or libuv refuse. */
int td__curl_uv_new(uv_loop_t *loop, td__curl_uv_t **out);

/* The multi handle, to set limits (CURLMOPT_MAX_TOTAL_CONNECTIONS ...). Never set the socket
 * or timer options on it, and never call curl_multi_cleanup on it. */
CURLM *td__curl_uv_multi(td__curl_uv_t *g);

/* Starts a transfer: xfer (borrowed until done is called or td__curl_uv_remove returns) with
 * its easy handle fully configured. Sets CURLOPT_PRIVATE. Returns 0, or TD_EIO when curl
 * refuses the handle (done is then never called). */
int td__curl_uv_add(td__curl_uv_t *g, td__curl_xfer_t *xfer);

/* Stops a transfer that has not finished; done is not called. The easy handle is the owner's
 * again. Not from inside a curl callback (write, header, opensocket ...). */
void td__curl_uv_remove(td__curl_uv_t *g, td__curl_xfer_t *xfer);

/* Closes the glue. A transfer still added (one whose owner does not take part in the close)
 * is removed and finished first: done
 * is called with CURLE_ABORTED_BY_CALLBACK, from inside this call, and may not add transfers
 * (the glue refuses them). Closes cached
 * connections, the poll handles and the timer; on_closed(data) (optional) is called from the
 * loop once the last handle is closed, after which the glue is freed. */
void td__curl_uv_close(td__curl_uv_t *g, void (*on_closed)(void *data), void *data);

#endif
