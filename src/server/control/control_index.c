/*
 * control_index: the replica's indexes, so that no per-token or per-VM
 * operation walks all tokens or VMs:
 *   tokens by id and by name (hash maps), by number (an array: busid
 *   lookups, the lowest free number, pages in busid order);
 *   VMs by id and by name (hash maps), in name order (a sorted array:
 *   pages), and by address: a VM's single-host CIDRs (/32, /128) go into
 *   a hash map from the address to its VMs, wider CIDRs into a short list
 *   that every lookup checks.
 * The index borrows the objects; control_apply.c owns them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "common/strmap.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/export/export.h"

#define IX_RESERVED	((struct control_token *)(uintptr_t)1)
#define IX_MAP_CAP	((size_t)CONTROL_MAX_TOKENS * 2)
#define IX_KEY_MAX	48

/* The VMs one host address belongs to. */
struct ix_host {
	size_t n, cap;
	struct control_vm **vm;
};

struct control_index {
	struct strmap *tok_id, *tok_name;
	struct control_token **by_num;	/* [num]; IX_RESERVED while made */
	uint32_t ncap;
	uint32_t hint;			/* no free number below it */
	struct strmap *vm_id, *vm_name;
	struct control_vm **vms;	/* sorted by name */
	size_t nvms, vms_cap;
	struct strmap *hosts;		/* key -> struct ix_host */
	struct control_vm **wide;	/* VMs with a CIDR wider than a host */
	size_t nwide, wide_cap;
};

void
control_num_split(uint32_t num, uint32_t *busnum, uint32_t *devnum)
{
	*busnum = 1 + (num - 1) / CONTROL_PORTS_PER_BUS;
	*devnum = 1 + (num - 1) % CONTROL_PORTS_PER_BUS;
}

uint32_t
control_num_join(uint32_t busnum, uint32_t devnum)
{
	if (busnum == 0 || devnum == 0 || devnum > CONTROL_PORTS_PER_BUS ||
	    busnum > CONTROL_MAX_TOKENS / CONTROL_PORTS_PER_BUS + 1)
		return 0;
	return (busnum - 1) * CONTROL_PORTS_PER_BUS + devnum;
}

static void
ix_host_free(void *p)
{
	struct ix_host *h = p;

	free(h->vm);
	free(h);
}

struct control_index *
control_index_new(void)
{
	struct control_index *ix = xcalloc(1, sizeof(*ix));

	ix->tok_id = strmap_new(IX_MAP_CAP, NULL);
	ix->tok_name = strmap_new(IX_MAP_CAP, NULL);
	ix->vm_id = strmap_new(IX_MAP_CAP, NULL);
	ix->vm_name = strmap_new(IX_MAP_CAP, NULL);
	ix->hosts = strmap_new(IX_MAP_CAP, ix_host_free);
	ix->hint = 1;
	return ix;
}

void
control_index_free(struct control_index *ix)
{
	if (ix == NULL)
		return;
	strmap_free(ix->tok_id);
	strmap_free(ix->tok_name);
	strmap_free(ix->vm_id);
	strmap_free(ix->vm_name);
	strmap_free(ix->hosts);
	free(ix->by_num);
	free(ix->vms);
	free(ix->wide);
	free(ix);
}

/* Makes by_num hold index num; -1 past the maximum. */
static int
ix_num_grow(struct control_index *ix, uint32_t num)
{
	uint32_t n = ix->ncap ? ix->ncap : 1024;

	if (num > CONTROL_MAX_TOKENS)
		return -1;
	if (num < ix->ncap)
		return 0;
	while (n <= num)
		n *= 2;
	ix->by_num = xreallocarray(ix->by_num, n, sizeof(*ix->by_num));
	memset(ix->by_num + ix->ncap, 0, (n - ix->ncap) *
	    sizeof(*ix->by_num));
	ix->ncap = n;
	return 0;
}

static struct control_token *
ix_slot(const struct control_index *ix, uint32_t num)
{
	return num < ix->ncap ? ix->by_num[num] : NULL;
}

uint32_t
control_index_num_lowest(struct control_index *ix, struct export *exp)
{
	uint32_t bus, port;

	for (uint32_t n = ix->hint; n >= 1 && n <= CONTROL_MAX_TOKENS; n++) {
		if (ix_slot(ix, n) != NULL)
			continue;
		control_num_split(n, &bus, &port);
		if (export_open_find(exp, bus, port) == NULL)
			return n;
	}
	return 0;
}

uint32_t
control_index_num_reserve(struct control_index *ix, struct export *exp)
{
	uint32_t n = control_index_num_lowest(ix, exp);

	if (n == 0 || ix_num_grow(ix, n) < 0)
		return 0;
	ix->by_num[n] = IX_RESERVED;
	ix->hint = n + 1;
	return n;
}

static void
ix_num_clear(struct control_index *ix, uint32_t num)
{
	if (num < ix->ncap)
		ix->by_num[num] = NULL;
	if (num < ix->hint)
		ix->hint = num;
}

void
control_index_num_release(struct control_index *ix, uint32_t num)
{
	if (ix_slot(ix, num) == IX_RESERVED)
		ix_num_clear(ix, num);
}

int
control_index_token_add(struct control_index *ix, struct control_token *tok)
{
	struct control_token *at = ix_slot(ix, tok->num);

	if (tok->num == 0 || (at != NULL && at != IX_RESERVED) ||
	    strmap_get(ix->tok_id, tok->id) != NULL ||
	    strmap_get(ix->tok_name, tok->name) != NULL ||
	    ix_num_grow(ix, tok->num) < 0)
		return -1;
	if (strmap_put(ix->tok_id, tok->id, tok) < 0)
		return -1;
	if (strmap_put(ix->tok_name, tok->name, tok) < 0) {
		strmap_del(ix->tok_id, tok->id);
		return -1;
	}
	ix->by_num[tok->num] = tok;
	return 0;
}

void
control_index_token_remove(struct control_index *ix,
    struct control_token *tok)
{
	if (strmap_get(ix->tok_id, tok->id) == tok)
		strmap_del(ix->tok_id, tok->id);
	if (strmap_get(ix->tok_name, tok->name) == tok)
		strmap_del(ix->tok_name, tok->name);
	if (ix_slot(ix, tok->num) == tok)
		ix_num_clear(ix, tok->num);
}

struct control_token *
control_index_token_id(struct control_index *ix, const char *id)
{
	return strmap_get(ix->tok_id, id);
}

struct control_token *
control_index_token_name(struct control_index *ix, const char *name)
{
	return strmap_get(ix->tok_name, name);
}

struct control_token *
control_index_token_num(struct control_index *ix, uint32_t num)
{
	struct control_token *t = ix_slot(ix, num);

	return t == IX_RESERVED ? NULL : t;
}

size_t
control_index_tokens_page(struct control_index *ix, uint32_t after,
    struct control_token **out, size_t max, bool *more)
{
	size_t k = 0;
	uint32_t n;

	*more = false;
	for (n = after + 1; n < ix->ncap; n++) {
		struct control_token *t = ix->by_num[n];

		if (t == NULL || t == IX_RESERVED)
			continue;
		if (k == max) {
			*more = true;
			break;
		}
		out[k++] = t;
	}
	return k;
}

void
control_index_tokens_foreach(struct control_index *ix,
    void (*fn)(void *, struct control_token *), void *arg)
{
	for (uint32_t n = 1; n < ix->ncap; n++)
		if (ix->by_num[n] != NULL && ix->by_num[n] != IX_RESERVED)
			fn(arg, ix->by_num[n]);
}

/* Where name goes in the sorted VM array (first entry >= name). */
static size_t
ix_vm_pos(const struct control_index *ix, const char *name)
{
	size_t lo = 0, hi = ix->nvms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix->vms[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The address key of a host: family and raw bytes, v4-mapped unwrapped. */
static void
ix_key_raw(int family, const unsigned char *a, char key[IX_KEY_MAX])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	size_t n = family == AF_INET ? 4 : 16;
	int k;

	if (family == AF_INET6 && memcmp(a, mapped, 12) == 0) {
		a += 12;
		n = 4;
	}
	k = snprintf(key, IX_KEY_MAX, "%c:", n == 4 ? '4' : '6');
	for (size_t i = 0; i < n; i++)
		k += snprintf(key + k, IX_KEY_MAX - (size_t)k, "%02x", a[i]);
}

static bool
ix_cidr_is_host(const struct netaddr_cidr *c)
{
	return c->prefix == (c->family == AF_INET ? 32u : 128u);
}

static bool
ix_key_sa(const struct sockaddr *sa, char key[IX_KEY_MAX])
{
	if (sa->sa_family == AF_INET)
		ix_key_raw(AF_INET, (const unsigned char *)&((const struct
		    sockaddr_in *)(const void *)sa)->sin_addr, key);
	else if (sa->sa_family == AF_INET6)
		ix_key_raw(AF_INET6, (const unsigned char *)&((const struct
		    sockaddr_in6 *)(const void *)sa)->sin6_addr, key);
	else
		return false;
	return true;
}

static void
ix_ptr_add(struct control_vm ***arr, size_t *n, size_t *cap,
    struct control_vm *vm)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*arr = xreallocarray(*arr, *cap, sizeof(**arr));
	}
	(*arr)[(*n)++] = vm;
}

static void
ix_ptr_del(struct control_vm **arr, size_t *n, struct control_vm *vm)
{
	for (size_t i = 0; i < *n; i++)
		if (arr[i] == vm) {
			arr[i] = arr[--*n];
			return;
		}
}

static void
ix_addrs_add(struct control_index *ix, struct control_vm *vm,
    const struct control_acl *acl)
{
	bool wide = false;
	char key[IX_KEY_MAX];

	for (size_t i = 0; i < acl->n; i++) {
		struct ix_host *h;

		if (!ix_cidr_is_host(&acl->cidr[i])) {
			wide = true;
			continue;
		}
		ix_key_raw(acl->cidr[i].family, acl->cidr[i].addr, key);
		if ((h = strmap_get(ix->hosts, key)) == NULL) {
			h = xcalloc(1, sizeof(*h));
			if (strmap_put(ix->hosts, key, h) < 0) {
				free(h);
				continue;	/* cannot happen below the cap */
			}
		}
		ix_ptr_add(&h->vm, &h->n, &h->cap, vm);
	}
	if (wide)
		ix_ptr_add(&ix->wide, &ix->nwide, &ix->wide_cap, vm);
}

static void
ix_addrs_del(struct control_index *ix, struct control_vm *vm,
    const struct control_acl *acl)
{
	char key[IX_KEY_MAX];

	for (size_t i = 0; i < acl->n; i++) {
		struct ix_host *h;

		if (!ix_cidr_is_host(&acl->cidr[i]))
			continue;
		ix_key_raw(acl->cidr[i].family, acl->cidr[i].addr, key);
		if ((h = strmap_get(ix->hosts, key)) == NULL)
			continue;
		ix_ptr_del(h->vm, &h->n, vm);
		if (h->n == 0)
			strmap_del(ix->hosts, key);
	}
	ix_ptr_del(ix->wide, &ix->nwide, vm);
}

int
control_index_vm_add(struct control_index *ix, struct control_vm *vm)
{
	size_t pos;

	if (strmap_get(ix->vm_id, vm->id) != NULL ||
	    strmap_get(ix->vm_name, vm->name) != NULL ||
	    strmap_put(ix->vm_id, vm->id, vm) < 0)
		return -1;
	if (strmap_put(ix->vm_name, vm->name, vm) < 0) {
		strmap_del(ix->vm_id, vm->id);
		return -1;
	}
	if (ix->nvms == ix->vms_cap) {
		ix->vms_cap = ix->vms_cap ? ix->vms_cap * 2 : 64;
		ix->vms = xreallocarray(ix->vms, ix->vms_cap,
		    sizeof(*ix->vms));
	}
	pos = ix_vm_pos(ix, vm->name);
	memmove(ix->vms + pos + 1, ix->vms + pos, (ix->nvms - pos) *
	    sizeof(*ix->vms));
	ix->vms[pos] = vm;
	ix->nvms++;
	ix_addrs_add(ix, vm, vm->acl);
	return 0;
}

void
control_index_vm_remove(struct control_index *ix, struct control_vm *vm)
{
	size_t pos = ix_vm_pos(ix, vm->name);

	if (strmap_get(ix->vm_id, vm->id) != vm)
		return;
	strmap_del(ix->vm_id, vm->id);
	strmap_del(ix->vm_name, vm->name);
	if (pos < ix->nvms && ix->vms[pos] == vm) {
		memmove(ix->vms + pos, ix->vms + pos + 1, (ix->nvms - pos - 1) *
		    sizeof(*ix->vms));
		ix->nvms--;
	}
	ix_addrs_del(ix, vm, vm->acl);
}

void
control_index_vm_readdress(struct control_index *ix, struct control_vm *vm,
    const struct control_acl *old)
{
	ix_addrs_del(ix, vm, old);
	ix_addrs_add(ix, vm, vm->acl);
}

struct control_vm *
control_index_vm_id(struct control_index *ix, const char *id)
{
	return strmap_get(ix->vm_id, id);
}

struct control_vm *
control_index_vm_name(struct control_index *ix, const char *name)
{
	return strmap_get(ix->vm_name, name);
}

/* True when one of vm's host CIDRs has the address key. */
static bool
ix_vm_has_host(const struct control_vm *vm, const char *key)
{
	char k[IX_KEY_MAX];

	for (size_t i = 0; i < vm->acl->n; i++) {
		if (!ix_cidr_is_host(&vm->acl->cidr[i]))
			continue;
		ix_key_raw(vm->acl->cidr[i].family, vm->acl->cidr[i].addr, k);
		if (strcmp(k, key) == 0)
			return true;
	}
	return false;
}

void
control_index_vms_of_peer(struct control_index *ix, const struct sockaddr *sa,
    void (*fn)(void *, struct control_vm *), void *arg)
{
	char key[IX_KEY_MAX];
	struct ix_host *h;

	if (!ix_key_sa(sa, key))
		return;
	if ((h = strmap_get(ix->hosts, key)) != NULL)
		for (size_t i = 0; i < h->n; i++)
			fn(arg, h->vm[i]);
	for (size_t i = 0; i < ix->nwide; i++) {
		struct control_vm *vm = ix->wide[i];
		bool match = false;

		if (h != NULL && ix_vm_has_host(vm, key))
			continue;	/* listed above */
		for (size_t j = 0; j < vm->acl->n && !match; j++)
			match = !ix_cidr_is_host(&vm->acl->cidr[j]) &&
			    netaddr_cidr_match(&vm->acl->cidr[j], sa);
		if (match)
			fn(arg, vm);
	}
}

size_t
control_index_vms_page(struct control_index *ix, const char *after,
    struct control_vm **out, size_t max, bool *more)
{
	size_t pos = 0, k = 0;

	if (after != NULL && after[0] != '\0') {
		pos = ix_vm_pos(ix, after);
		if (pos < ix->nvms && strcmp(ix->vms[pos]->name, after) == 0)
			pos++;
	}
	while (pos < ix->nvms && k < max)
		out[k++] = ix->vms[pos++];
	*more = pos < ix->nvms;
	return k;
}
