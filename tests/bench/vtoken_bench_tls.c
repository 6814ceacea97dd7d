/*
 * vtoken-bench-tls: the server CPU an agent authentication costs over
 * HTTPS, with a full TLS handshake per round, with a resumed session per
 * round, and over a kept-alive connection.  A real vtokend with a
 * self-signed certificate (EC P-256, or RSA 2048 with -k rsa) on
 * loopback; the rounds are the agent's own code (agent_auth_run with the
 * token's image and the certificate pin):
 *   - fresh: a new HTTP handle per round, as the agent did before issue
 *     #15 (one full handshake per round; challenge and verify share it);
 *   - resumed: one handle whose connection is closed after each round
 *     (agent_http_disconnect), as when the controller's idle timeout is
 *     shorter than the agent's interval: a resumed handshake per round;
 *   - keep-alive: one handle and one connection for every round.
 * The server CPU is vtokend's utime+stime (/proc/PID/stat, all threads)
 * over the N rounds.  Each authentication also does the controller's
 * real work (nonce, signature check, an fsync'd audit record); the bare
 * TLS cost comes from the same three ways of calling GET /healthz with
 * libcurl, as a baseline.
 *
 * usage: vtoken-bench-tls [-n ROUNDS] [-k ec|rsa]
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/vt_http.h"
#include "../lib/vtd_spawn.h"
#include "agent/agent_auth.h"
#include "agent/agent_msg.h"
#include "agent/agent_config.h"
#include "agent/agent_http.h"
#include "agent/agent_token.h"
#include "common/monotime.h"

enum bench_mode { MODE_FRESH, MODE_RESUMED, MODE_KEEPALIVE };

static const char *const bench_mode_name[] = {
	"full handshake per round", "resumed session per round",
	"kept-alive connection",
};

struct bench_tls {
	struct vtd d;
	char cert[512];
	char url[128];		/* https://127.0.0.1:PORT */
	struct agent_config *cfg;
	struct agent_token *tok;
};

static void
die(const char *what)
{
	fprintf(stderr, "vtoken-bench-tls: %s\n", what);
	exit(1);
}

/* vtokend's user+system CPU in seconds, all threads. */
static double
bench_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		die("cannot read the daemon's /proc stat");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name: state is 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		die("unexpected /proc stat");
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static char *
bench_pin(const char *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *hex = malloc(2 * 32 + 1);
	FILE *f = fopen(cert, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	if (x == NULL || hex == NULL ||
	    X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
		die("cannot hash the certificate");
	for (unsigned i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	X509_free(x);
	return hex;
}

static void
bench_start(struct bench_tls *b, const char *kind)
{
	char key[512], conf[2048], path[600], subj[] = "/CN=127.0.0.1";
	const char *args[] = { "-c", path, NULL };
	const char *ec[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
	    "-out", b->cert, "-days", "2", "-subj", subj, "-addext",
	    "subjectAltName=IP:127.0.0.1", NULL };
	const char *rsa[] = { "openssl", "req", "-x509", "-newkey",
	    "rsa:2048", "-nodes", "-keyout", key, "-out", b->cert, "-days",
	    "2", "-subj", subj, "-addext", "subjectAltName=IP:127.0.0.1",
	    NULL };

	if (vtd_init(&b->d) < 0)
		die(b->d.err);
	vtd_path(&b->d, "cert.pem", b->cert, sizeof(b->cert));
	vtd_path(&b->d, "key.pem", key, sizeof(key));
	if (vtd_run(strcmp(kind, "rsa") == 0 ? rsa : ec) != 0)
		die("openssl req failed");
	snprintf(conf, sizeof(conf), "api:\n  tls:\n    cert: %s\n"
	    "    key: %s\nagent:\n  rate_per_token: 100000\n"
	    "  rate_per_address: 1000000\n", b->cert, key);
	if (vtd_write_file(&b->d, "tls.yaml", conf) < 0)
		die("cannot write the configuration");
	vtd_path(&b->d, "tls.yaml", path, sizeof(path));
	if (vtd_start(&b->d, args) < 0)
		die(b->d.err);
	snprintf(b->url, sizeof(b->url), "https://127.0.0.1:%u",
	    b->d.api_port);
}

static void
bench_api(struct bench_tls *b, const char *method, const char *path,
    const char *body, struct vt_http_resp *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", b->url, path);
	if (vt_https(method, url, vt_admin_key(&b->d), body, b->cert,
	    r) < 0 || r->status / 100 != 2)
		die(path);
}

/* A token assigned to a VM at 127.0.0.1, its image, the agent's view. */
static void
bench_token(struct bench_tls *b)
{
	struct vt_http_resp r;
	char path[256], img[512], *pin, *why = NULL;
	const char *id;
	FILE *f;

	bench_api(b, "POST", "/v1/tokens", "{\"name\":\"b1\"}", &r);
	id = json_string_value(json_object_get(r.json, "id"));
	if (id == NULL)
		die("no token id");
	snprintf(path, sizeof(path), "/v1/tokens/%s/image", id);
	vt_http_resp_free(&r);
	bench_api(b, "POST", "/v1/vms", "{\"name\":\"vm1\",\"addresses\":"
	    "[\"127.0.0.1\"]}", &r);
	vt_http_resp_free(&r);
	bench_api(b, "POST", "/v1/assignments", "{\"token\":\"b1\","
	    "\"vm\":\"vm1\"}", &r);
	vt_http_resp_free(&r);
	bench_api(b, "GET", path, NULL, &r);
	vtd_path(&b->d, "b1.img", img, sizeof(img));
	if ((f = fopen(img, "w")) == NULL ||
	    fwrite(r.body, 1, r.len, f) != r.len || fclose(f) != 0)
		die("cannot write the image");
	vt_http_resp_free(&r);
	b->cfg = agent_config_default();
	pin = bench_pin(b->cert);
	if (agent_config_set(b->cfg, "controller", b->url, &why) < 0 ||
	    agent_config_set(b->cfg, "ca_sha256", pin, &why) < 0)
		die(why);
	free(pin);
	b->tok = agent_token_new(img, NULL, NULL);
	if (agent_token_load(b->tok, &why) < 0)
		die(why);
}

static void
bench_round(struct bench_tls *b, struct agent_http **h)
{
	struct agent_msg_answer ans;
	char *reason = NULL;

	if (agent_auth_run(b->cfg, b->tok, NULL, NULL, h, &ans, &reason) < 0) {
		fprintf(stderr, "vtoken-bench-tls: authentication: %s\n",
		    reason);
		exit(1);
	}
	agent_msg_answer_clear(&ans);
}

/* n rounds in one mode: the server's CPU seconds; *wall the elapsed. */
static double
bench_auth(struct bench_tls *b, enum bench_mode m, int n, double *wall,
    struct agent_http_stats *st)
{
	struct agent_http *h = NULL;
	struct agent_http_stats one;
	double c0, t0;
	char *why = NULL;

	bench_round(b, &h);		/* warm: the first session */
	c0 = bench_cpu(b->d.pid);
	t0 = monotime_sec();
	for (int i = 0; i < n; i++) {
		if (m == MODE_FRESH && i > 0) {
			agent_http_stats(h, &one);
			st->connects += one.connects;
			agent_http_free(h);
			h = NULL;
		} else if (m == MODE_FRESH) {
			agent_http_free(h);	/* the warm-up's */
			h = NULL;
		} else if (m == MODE_RESUMED &&
		    agent_http_disconnect(h, &why) < 0)
			die(why);
		bench_round(b, &h);
	}
	*wall = monotime_sec() - t0;
	agent_http_stats(h, &one);
	if (m == MODE_FRESH)
		one.connects += st->connects;
	else			/* less the warm-up's first connection */
		one.connects -= one.connects > 0 ? 1 : 0;
	*st = one;
	agent_http_free(h);
	return bench_cpu(b->d.pid) - c0;
}

static size_t
bench_discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static CURL *
bench_curl(const struct bench_tls *b, enum bench_mode m)
{
	CURL *c = curl_easy_init();
	char url[160];

	snprintf(url, sizeof(url), "%s/healthz", b->url);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, b->cert);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_discard);
	curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE,
	    m == MODE_FRESH ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE,
	    m == MODE_KEEPALIVE ? 0L : 1L);
	return c;
}

/* The bare baseline: n GET /healthz; the server's CPU seconds. */
static double
bench_healthz(const struct bench_tls *b, enum bench_mode m, int n,
    double *wall)
{
	CURL *c = bench_curl(b, m);
	double c0, t0;

	if (curl_easy_perform(c) != CURLE_OK)
		die("GET /healthz");
	c0 = bench_cpu(b->d.pid);
	t0 = monotime_sec();
	for (int i = 0; i < n; i++)
		if (curl_easy_perform(c) != CURLE_OK)
			die("GET /healthz");
	*wall = monotime_sec() - t0;
	curl_easy_cleanup(c);
	return bench_cpu(b->d.pid) - c0;
}

int
main(int argc, char **argv)
{
	struct bench_tls b;
	struct agent_http_stats st;
	const char *kind = "ec";
	double cpu, wall;
	int n = 1000, ch;
	char *end;
	long v;

	while ((ch = getopt(argc, argv, "n:k:")) != -1) {
		if (ch == 'n' && (v = strtol(optarg, &end, 10)) > 0 &&
		    *end == '\0' && v <= 1000000) {
			n = (int)v;
			continue;
		}
		if (ch == 'k' && (strcmp(optarg, "ec") == 0 ||
		    strcmp(optarg, "rsa") == 0)) {
			kind = optarg;
			continue;
		}
		fprintf(stderr, "usage: vtoken-bench-tls [-n ROUNDS] "
		    "[-k ec|rsa]\n");
		return 2;
	}
	memset(&b, 0, sizeof(b));
	if (agent_http_global_init() < 0)
		die("libcurl");
	bench_start(&b, kind);
	bench_token(&b);
	printf("vtokend TLS: %s certificate, %d rounds per mode, %s\n\n",
	    strcmp(kind, "rsa") == 0 ? "RSA 2048" : "EC P-256", n,
	    curl_version());
	printf("| agent authentication (challenge + verify) | server CPU "
	    "per auth | client wall per auth | new connections | resumed "
	    "|\n"
	    "|---|---:|---:|---:|---:|\n");
	for (int m = MODE_FRESH; m <= MODE_KEEPALIVE; m++) {
		memset(&st, 0, sizeof(st));
		cpu = bench_auth(&b, m, n, &wall, &st);
		printf("| %s | %.0f µs | %.2f ms | %lu | %lu |\n",
		    bench_mode_name[m], cpu / n * 1e6, wall / n * 1e3,
		    st.connects, st.resumed);
		fflush(stdout);
	}
	printf("\n| baseline: GET /healthz | server CPU per request | "
	    "client wall per request |\n|---|---:|---:|\n");
	for (int m = MODE_FRESH; m <= MODE_KEEPALIVE; m++) {
		cpu = bench_healthz(&b, m, n, &wall);
		printf("| %s | %.0f µs | %.2f ms |\n", bench_mode_name[m],
		    cpu / n * 1e6, wall / n * 1e3);
		fflush(stdout);
	}
	agent_token_free(b.tok);
	agent_config_free(b.cfg);
	vtd_cleanup(&b.d);
	agent_http_global_cleanup();
	return 0;
}
