/*
 * vtokend_fds: the descriptor budget.  USB/IP connections, REST
 * connections and everything else (the store, the log, images, delivery
 * sockets) share one descriptor table, so a flood of one listener could
 * starve the others: a full table makes accept() fail everywhere.  At
 * start the soft RLIMIT_NOFILE is raised towards the hard one (as far as
 * the configured caps need), and what is left after the descriptors open
 * now and VTOKEND_FD_RESERVE more is split: USB/IP gets three quarters,
 * the REST API one quarter.  Each listener's total cap is the smaller of
 * its configured one and its share, so neither can take the other's
 * descriptors nor the reserve.  The budget is logged once.
 */
#include <dirent.h>
#include <sys/resource.h>

#include "common/log.h"
#include "server/config.h"
#include "server/vtokend.h"

/* Descriptors kept for everything but connections. */
#define VTOKEND_FD_RESERVE	64
/* Below this many left for connections, no budget: caps as configured. */
#define VTOKEND_FD_MIN		64

static unsigned
vtokend_fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* not the one reading the directory */
}

void
vtokend_fds_budget(struct vtokend *vtd)
{
	const struct vtd_config *cfg = vtd->cfg;
	unsigned open = vtokend_fds_open();
	rlim_t want = (rlim_t)open + VTOKEND_FD_RESERVE +
	    cfg->usbip.max_sessions + cfg->api.max_connections;
	struct rlimit rl;
	rlim_t avail;

	vtd->fd_usbip = vtd->fd_api = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > want ? want : rl.rlim_max;
		if (rl.rlim_cur > old && setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = old;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) {
		log_info("descriptors: limit %llu, %u open, %u kept for the "
		    "store, logs and images: enough for %u USB/IP and %u API "
		    "connections as configured",
		    rl.rlim_cur == RLIM_INFINITY ? 0ULL :
		    (unsigned long long)rl.rlim_cur, open, VTOKEND_FD_RESERVE,
		    cfg->usbip.max_sessions, cfg->api.max_connections);
		return;
	}
	avail = rl.rlim_cur > (rlim_t)open + VTOKEND_FD_RESERVE ?
	    rl.rlim_cur - open - VTOKEND_FD_RESERVE : 0;
	if (avail < VTOKEND_FD_MIN) {
		log_warnx("descriptors: limit %llu with %u open leaves %llu "
		    "for connections; too few to share out, the caps stay as "
		    "configured (raise LimitNOFILE)",
		    (unsigned long long)rl.rlim_cur, open,
		    (unsigned long long)avail);
		return;
	}
	vtd->fd_usbip = (unsigned)(avail * 3 / 4);
	vtd->fd_api = (unsigned)(avail - avail * 3 / 4);
	log_warnx("descriptors: limit %llu, %u open, %u kept for the store, "
	    "logs and images: USB/IP gets %u connections (configured %u), "
	    "the API %u (configured %u)", (unsigned long long)rl.rlim_cur,
	    open, VTOKEND_FD_RESERVE,
	    vtd->fd_usbip < cfg->usbip.max_sessions ? vtd->fd_usbip :
	    cfg->usbip.max_sessions, cfg->usbip.max_sessions,
	    vtd->fd_api < cfg->api.max_connections ? vtd->fd_api :
	    cfg->api.max_connections, cfg->api.max_connections);
}
