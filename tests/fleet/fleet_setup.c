/*
 * fleet_setup: descriptor limits, the daemon (TLS API, raised limits),
 * the REST calls that make N tokens, VMs and assignments, each token's
 * Ed25519 key read from its image, what /proc says about the daemon, and
 * the baselines (a bare fsync, bare TLS handshakes).
 *
 * Address plan: VM v is 127.3.0.1 + v, one /32 each (the daemon allows
 * one VM per address); nothing leaves 127.0.0.0/8.  With two nodes, VM v
 * uses node v % 2; setup goes through node 0, and the tool waits until
 * node 1 has seen the last assignment (the changes feed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fleet.h"
#include "token/fat.h"
#include "vtoken/tokenfs.h"

#define FLEET_FD_SLACK	512	/* beyond what the VMs hold */
#define FLEET_BULK	250	/* tokens per bulk POST (10 s per call) */

/*
 * The limit is per process, and the daemons inherit this one's: a node
 * holds two descriptors per VM of its share (a session and a kept-alive
 * connection), the agents' process one per VM and two per cell of 16
 * (libcurl's wakeup pair), the USB/IP process one per VM.
 */
int
fleet_rlimit(unsigned n, unsigned nodes)
{
	rlim_t node = (rlim_t)2 * ((n + nodes - 1) / nodes);
	rlim_t agents = (rlim_t)n + 2 * n / 16;
	rlim_t need = (node > agents ? node : agents) + FLEET_FD_SLACK;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need && getuid() != 0) {
		fprintf(stderr, "vtoken-fleet: %llu descriptors needed, the "
		    "hard limit is %llu\n", (unsigned long long)need,
		    (unsigned long long)rl.rlim_max);
		return -1;
	}
	if (rl.rlim_max < need) {
		struct rlimit up = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return 0;
		/*
		 * A container may refuse even root: take what there is.  That
		 * is enough when agents do not all keep their connections
		 * (--api-timeout below the interval); a shortage shows as
		 * errors.
		 */
		fprintf(stderr, "vtoken-fleet: warning: %llu descriptors "
		    "needed with every agent connection kept, the hard limit "
		    "is %llu\n", (unsigned long long)need,
		    (unsigned long long)rl.rlim_max);
		need = rl.rlim_max;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "vtoken-fleet: cannot raise RLIMIT_NOFILE to "
		    "%llu (%s): run as root or with fewer VMs\n",
		    (unsigned long long)need, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Node k's configuration.  Every VM holds one USB/IP session and one
 * kept-alive HTTPS connection on its node: the caps must fit its share of
 * each (and the descriptor limit together, else vtokend splits it 3:1
 * between them; with api.timeout below the interval an agent holds its
 * connection for timeout/interval of the time, and the API cap is that
 * share), api.timeout must exceed the interval (else every round resumes
 * on a new connection), and the agent rate limits must not count a
 * compressed interval as a flood.
 */
static int
fleet_node_conf(struct fleet_ctx *x, unsigned k, const char *key,
    char *path, size_t len)
{
	char conf[2048];
	unsigned n = (x->o.n + x->o.nodes - 1) / x->o.nodes;
	unsigned tmo = x->o.api_timeout, api_conns = n + 512;

	if (tmo == 0)
		tmo = (unsigned)x->o.interval + 15;
	else if (tmo < x->o.interval)	/* each agent holds one part-time */
		api_conns = (unsigned)((double)n * tmo / x->o.interval) + 1024;
	snprintf(conf, sizeof(conf),
	    "log_level: info\n"
	    "usbip:\n  max_sessions: %u\n"
	    "api:\n  tls:\n    cert: %s\n    key: %s\n  timeout: %u\n"
	    "  max_connections: %u\n"
	    "agent:\n  rate_per_token: 100000\n"
	    "  rate_per_address: 1000000\n",
	    n + 256, x->cert, key, tmo, api_conns);
	if (vtd_write_file(&x->d[k], "fleet.yaml", conf) < 0)
		return -1;
	vtd_path(&x->d[k], "fleet.yaml", path, len);
	return 0;
}

static int
fleet_start_node(struct fleet_ctx *x, unsigned k, const char *key)
{
	char path[600], name[16];
	const char *args[] = { "-c", path, "--node", name, NULL };
	struct vtd *d = &x->d[k];

	snprintf(name, sizeof(name), "fleet-%c", 'a' + k);
	if (k > 0 && vtd_init(d) < 0)
		return -1;
	if (x->o.store != NULL)
		snprintf(d->store, sizeof(d->store), "%s", x->o.store);
	if (k > 0 && vtd_audit_key_copy(d, &x->d[0]) < 0)
		return -1;
	if (fleet_node_conf(x, k, key, path, sizeof(path)) < 0) {
		snprintf(d->err, sizeof(d->err), "cannot write config");
		return -1;
	}
	if (vtd_start(d, args) < 0)
		return -1;
	snprintf(x->base[k], sizeof(x->base[k]), "https://127.0.0.1:%u",
	    d->api_port);
	return 0;
}

int
fleet_start_daemons(struct fleet_ctx *x)
{
	char key[512], subj[] = "/CN=127.0.0.1";
	const char *req[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
	    "-out", x->cert, "-days", "2", "-subj", subj, "-addext",
	    "subjectAltName=IP:127.0.0.1", NULL };
	unsigned k;

	if (vtd_init(&x->d[0]) < 0) {
		fprintf(stderr, "vtoken-fleet: daemon: %s\n", x->d[0].err);
		return -1;
	}
	/* One certificate for every node, as in a cluster. */
	vtd_path(&x->d[0], "cert.pem", x->cert, sizeof(x->cert));
	vtd_path(&x->d[0], "key.pem", key, sizeof(key));
	if (vtd_run(req) != 0) {
		fprintf(stderr, "vtoken-fleet: openssl req failed\n");
		return -1;
	}
	for (k = 0; k < x->o.nodes; k++)
		if (fleet_start_node(x, k, key) < 0) {
			fprintf(stderr, "vtoken-fleet: node %u: %s\n", k,
			    x->d[k].err);
			return -1;
		}
	return 0;
}

int
fleet_api(struct fleet_ctx *x, unsigned k, const char *method,
    const char *path, const char *body, struct vt_http_resp *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", x->base[k], path);
	if (vt_https(method, url, vt_admin_key(&x->d[0]), body, x->cert,
	    r) < 0 || r->status / 100 != 2) {
		fprintf(stderr, "vtoken-fleet: %s %s: %ld %.200s\n", method,
		    path, r->status, r->body ? r->body : "");
		return -1;
	}
	return 0;
}

static int
fleet_tokens(struct fleet_ctx *x)
{
	struct vt_http_resp r;
	char body[256];
	unsigned done = 0, c;

	for (unsigned k = 0; done < x->o.n; k++, done += c) {
		json_t *arr;

		c = x->o.n - done < FLEET_BULK ? x->o.n - done : FLEET_BULK;
		snprintf(body, sizeof(body), "{\"count\": %u, \"prefix\": "
		    "\"fleet%u\", \"size\": \"1M\"}", c, k);
		if (fleet_api(x, 0, "POST", "/v1/tokens", body, &r) < 0)
			return -1;
		arr = json_object_get(r.json, "tokens");
		if (json_array_size(arr) != c) {
			fprintf(stderr, "vtoken-fleet: bulk create made %zu "
			    "of %u tokens\n", json_array_size(arr), c);
			vt_http_resp_free(&r);
			return -1;
		}
		for (unsigned i = 0; i < c; i++) {
			json_t *t = json_array_get(arr, i);
			const char *id, *busid;
			struct fleet_vm *v = &x->vm[done + i];

			id = json_string_value(json_object_get(t, "id"));
			busid = json_string_value(json_object_get(t, "busid"));
			if (id == NULL || busid == NULL) {
				vt_http_resp_free(&r);
				return -1;
			}
			snprintf(v->tok, sizeof(v->tok), "%s", id);
			snprintf(v->busid, sizeof(v->busid), "%s", busid);
		}
		vt_http_resp_free(&r);
	}
	return 0;
}

static void
fleet_addr_str(uint32_t a, char buf[16])
{
	struct in_addr in = { htonl(a) };

	if (inet_ntop(AF_INET, &in, buf, 16) == NULL)
		snprintf(buf, 16, "0.0.0.0");
}

static int
fleet_vms(struct fleet_ctx *x)
{
	struct vt_http_resp r;
	char body[256];
	const char *id;

	for (unsigned i = 0; i < x->o.n; i++) {
		struct fleet_vm *v = &x->vm[i];

		fleet_addr_str(FLEET_ADDR_BASE + i, v->addr);
		v->node = i % x->o.nodes;
		snprintf(body, sizeof(body), "{\"name\": \"fleet-vm-%u\", "
		    "\"addresses\": [\"%s/32\"]}", i, v->addr);
		if (fleet_api(x, 0, "POST", "/v1/vms", body, &r) < 0)
			return -1;
		id = json_string_value(json_object_get(r.json, "id"));
		snprintf(v->vm_id, sizeof(v->vm_id), "%s", id ? id : "");
		vt_http_resp_free(&r);
		snprintf(body, sizeof(body), "{\"token\": \"%s\", \"vm\": "
		    "\"%s\"}", v->tok, v->vm_id);
		if (fleet_api(x, 0, "POST", "/v1/assignments", body, &r) < 0)
			return -1;
		vt_http_resp_free(&r);
	}
	return 0;
}

/* The token's private key (TOKEN.KEY of its image); the image is freed. */
static int
fleet_key(struct fleet_ctx *x, struct fleet_vm *v)
{
	struct vt_http_resp r;
	struct fat_mem mem;
	struct fat *fs;
	char path[128], *cause = NULL;
	uint8_t *pem = NULL;
	size_t len = 0;
	BIO *bio;
	int rc = -1;

	snprintf(path, sizeof(path), "/v1/tokens/%s/image", v->tok);
	if (fleet_api(x, 0, "GET", path, NULL, &r) < 0)
		return -1;
	mem.buf = (const uint8_t *)r.body;
	mem.len = r.len;
	if ((fs = fat_open(fat_mem_read, &mem, r.len, &cause)) == NULL)
		goto out;
	if (fat_read_file(fs, TOKENFS_KEY, 4096, &pem, &len, &cause) < 0) {
		fat_close(fs);
		goto out;
	}
	fat_close(fs);
	bio = BIO_new_mem_buf(pem, (int)len);
	v->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	rc = v->key != NULL ? 0 : -1;
out:
	if (rc < 0)
		fprintf(stderr, "vtoken-fleet: key of %s: %s\n", v->tok,
		    cause ? cause : "unreadable");
	free(cause);
	vt_http_resp_free(&r);
	return rc;
}

/* Waits (60 s at most) until every node has the last assignment. */
static int
fleet_wait_nodes(struct fleet_ctx *x)
{
	const char *tok = x->vm[x->o.n - 1].tok;
	char path[128];

	snprintf(path, sizeof(path), "/v1/tokens/%s", tok);
	for (unsigned k = 1; k < x->o.nodes; k++) {
		uint64_t until = load_now_ns() + 60 * FLEET_NS;
		bool seen = false;

		while (!seen && load_now_ns() < until) {
			struct vt_http_resp r;
			char url[512];

			snprintf(url, sizeof(url), "%s%s", x->base[k], path);
			if (vt_https("GET", url, vt_admin_key(&x->d[0]), NULL,
			    x->cert, &r) == 0 && r.status == 200)
				seen = json_is_string(json_object_get(r.json,
				    "vm"));
			vt_http_resp_free(&r);
			if (!seen)
				usleep(100000);
		}
		if (!seen) {
			fprintf(stderr, "vtoken-fleet: node %u did not see "
			    "the assignment of %s within 60 s\n", k, tok);
			return -1;
		}
	}
	return 0;
}

int
fleet_populate(struct fleet_ctx *x)
{
	if (fleet_tokens(x) < 0 || fleet_vms(x) < 0)
		return -1;
	for (unsigned i = 0; i < x->o.n; i++)
		if (fleet_key(x, &x->vm[i]) < 0)
			return -1;
	return fleet_wait_nodes(x);
}

static long long
fleet_audit_total(struct fleet_ctx *x, unsigned k)
{
	struct vt_http_resp r;
	long long v = -1;

	if (fleet_api(x, k, "GET", "/metrics", NULL, &r) == 0)
		v = vt_metric(r.body, "vtoken_audit_records_total");
	vt_http_resp_free(&r);
	return v;
}

void
fleet_sample(struct fleet_ctx *x, struct fleet_sample *p)
{
	p->t = load_now_ns();
	for (unsigned k = 0; k < x->o.nodes; k++) {
		struct fleet_proc *n = &p->node[k];
		int pid = x->d[k].pid;

		n->cpu = fleet_cpu(pid);
		n->wbytes = fleet_wbytes(pid);
		n->rss_kib = proc_rss_kib(pid);
		n->fds = proc_fd_count(pid);
		n->audit = fleet_audit_total(x, k);
	}
	fleet_pg_sample(x->o.pg_pid, &p->pg);
	p->auths = atomic_load(&x->auths);
	p->errors = fleet_errors(x);
	p->conns = x->conns;
}

void
fleet_fsync_baseline(struct fleet_ctx *x, unsigned n, struct hist *h)
{
	char path[512], buf[4096];
	int fd;

	memset(buf, 0xa5, sizeof(buf));
	vtd_path(&x->d[0], "fsync.probe", path, sizeof(path));
	if ((fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600)) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = load_now_ns();

		if (pwrite(fd, buf, sizeof(buf), (off_t)(i % 16) * 4096) !=
		    (ssize_t)sizeof(buf) || fsync(fd) < 0)
			break;
		hist_add(h, load_now_ns() - t0);
	}
	close(fd);
	unlink(path);
}

static size_t
fleet_discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

void
fleet_tls_baseline(struct fleet_ctx *x, unsigned n,
    struct fleet_tls_base b[3])
{
	char url[160];

	snprintf(url, sizeof(url), "%s/healthz", x->base[0]);
	for (int m = 0; m < 3; m++) {
		CURL *c = curl_easy_init();
		double c0;

		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CAINFO, x->cert);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fleet_discard);
		curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE,
		    m == 0 ? 0L : 1L);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, m == 2 ? 0L : 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
		(void)curl_easy_perform(c);	/* warm: a session to resume */
		c0 = fleet_cpu(x->d[0].pid);
		for (unsigned i = 0; i < n; i++) {
			uint64_t t0 = load_now_ns();

			if (curl_easy_perform(c) != CURLE_OK) {
				load_error("baseline GET /healthz failed");
				break;
			}
			hist_add(&b[m].lat, load_now_ns() - t0);
		}
		b[m].cpu_per = (fleet_cpu(x->d[0].pid) - c0) / n;
		curl_easy_cleanup(c);
	}
}
