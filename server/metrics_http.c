/* metrics_http.c -- the optional plain-HTTP listener for monitoring
 * (metrics_http.h): libmicrohttpd (Debian's libmicrohttpd, as the
 * terminal's touch interface uses) on its own thread, connections from
 * addresses outside the allow list refused at accept and logged, the same
 * answers as the device port's /metrics, /healthz and /readyz
 * (app_metrics.c). Prometheus on another host scrapes this instead of the
 * device port, which needs TLS and serves /metrics to loopback only. */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "app_int.h"

#define MH_MAX_NETS 32

typedef struct net_rule {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned bits;
} net_rule;

struct mh {
    app *a;
    struct MHD_Daemon *d;
    net_rule nets[MH_MAX_NETS];
    size_t nnets;
    unsigned port;
};

static int parse_allow(const char *allow, net_rule *out, size_t *n, char *err, size_t errlen)
{
    char buf[1024], *p, *save = NULL;
    *n = 0;
    if (!allow || !*allow || strlen(allow) >= sizeof buf) {
        snprintf(err, errlen, "--metrics-allow: a list of addresses or networks is required "
                              "(e.g. 10.0.0.5,192.168.1.0/24)");
        return -1;
    }
    memcpy(buf, allow, strlen(allow) + 1);
    for (p = strtok_r(buf, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
        net_rule r;
        char *slash = strchr(p, '/');
        unsigned long bits;
        memset(&r, 0, sizeof r);
        if (slash)
            *slash = '\0';
        if (inet_pton(AF_INET, p, r.addr) == 1)
            r.family = AF_INET, r.bits = 32;
        else if (inet_pton(AF_INET6, p, r.addr) == 1)
            r.family = AF_INET6, r.bits = 128;
        else {
            snprintf(err, errlen, "--metrics-allow: '%.60s' is not an IPv4 or IPv6 address", p);
            return -1;
        }
        if (slash) {
            char *end;
            bits = strtoul(slash + 1, &end, 10);
            if (!slash[1] || *end || bits > r.bits) {
                snprintf(err, errlen, "--metrics-allow: '/%.20s' is not a prefix length 0..%u",
                         slash + 1, r.bits);
                return -1;
            }
            r.bits = (unsigned)bits;
        }
        if (*n == MH_MAX_NETS) {
            snprintf(err, errlen, "--metrics-allow: at most %d addresses or networks",
                     MH_MAX_NETS);
            return -1;
        }
        out[(*n)++] = r;
    }
    if (*n == 0) {
        snprintf(err, errlen, "--metrics-allow: no address in '%.60s'", allow);
        return -1;
    }
    return 0;
}

int mh_check_allow(const char *allow, char *err, size_t errlen)
{
    net_rule nets[MH_MAX_NETS];
    size_t n;
    return parse_allow(allow, nets, &n, err, errlen);
}

static int in_net(const net_rule *r, const uint8_t *addr)
{
    unsigned full = r->bits / 8, rest = r->bits % 8;
    if (memcmp(r->addr, addr, full) != 0)
        return 0;
    return rest == 0 || ((r->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Accept a connection only from the allow list (an IPv4 peer on an IPv6
 * socket arrives as ::ffff:a.b.c.d and is matched as IPv4). */
static enum MHD_Result accept_cb(void *cls, const struct sockaddr *sa, socklen_t len)
{
    mh *m = cls;
    uint8_t a4[4];
    const uint8_t *a6 = NULL;
    char text[64] = "?";
    (void)len;
    if (sa->sa_family == AF_INET) {
        memcpy(a4, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a6)) {
            memcpy(a4, a6 + 12, 4);
            a6 = NULL;
        }
    } else {
        return MHD_NO;
    }
    for (size_t i = 0; i < m->nnets; i++)
        if ((a6 && m->nets[i].family == AF_INET6 && in_net(&m->nets[i], a6)) ||
            (!a6 && m->nets[i].family == AF_INET && in_net(&m->nets[i], a4)))
            return MHD_YES;
    if (a6)
        inet_ntop(AF_INET6, a6, text, sizeof text);
    else
        inet_ntop(AF_INET, a4, text, sizeof text);
    app_log("warn", "event=refused peer=%s code=metrics_not_allowed listener=metrics", text);
    return MHD_NO;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    mh *m = cls;
    srv_response rs;
    struct MHD_Response *r;
    enum MHD_Result ret;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    memset(&rs, 0, sizeof rs);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        rs.status = 405;
    } else if (strcmp(url, "/metrics") == 0) {
        app_metrics_handle(m->a, &rs);
    } else if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) {
        app_metrics_health(m->a, &rs, url[1] == 'r');
    } else {
        rs.status = 404;
    }
    r = MHD_create_response_from_buffer(rs.body_len, rs.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(rs.body);
        return MHD_NO;
    }
    if (rs.content_type)
        MHD_add_response_header(r, "Content-Type", rs.content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(c, (unsigned)rs.status, r);
    MHD_destroy_response(r);
    return ret;
}

int mh_start(mh **out, app *a, const char *listen, const char *allow, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    struct addrinfo hints, *res = NULL;
    char host[256], port[16];
    const char *colon = strrchr(listen, ':');
    const union MHD_DaemonInfo *info;
    mh *m = calloc(1, sizeof *m);
    size_t hl;
    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "--metrics-listen: out of memory");
        return -1;
    }
    m->a = a;
    if (parse_allow(allow, m->nets, &m->nnets, err, errlen))
        goto bad;
    if (!colon || colon == listen || (hl = (size_t)(colon - listen)) >= sizeof host ||
        strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port) {
        snprintf(err, errlen, "--metrics-listen HOST:PORT: '%.60s'", listen);
        goto bad;
    }
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    snprintf(port, sizeof port, "%s", colon + 1);
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res || res->ai_addrlen > sizeof ss) {
        snprintf(err, errlen, "--metrics-listen: '%.60s' is not an address and port", listen);
        if (res)
            freeaddrinfo(res);
        goto bad;
    }
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                            0, accept_cb, m, handler, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)4,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                            MHD_OPTION_END);
    if (!m->d) {
        snprintf(err, errlen, "--metrics-listen: cannot listen on %.60s (in use?)", listen);
        goto bad;
    }
    info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : 0;
    *out = m;
    return 0;
bad:
    free(m);
    return -1;
}

unsigned mh_port(const mh *m)
{
    return m ? m->port : 0;
}

void mh_stop(mh *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
