/*
 * api_tls: session resumption for the REST API's TLS server context.
 *
 * Agents authenticate every interval; a full handshake costs the server
 * a signature and a key exchange, a resumed one a key exchange only, a
 * kept-alive connection neither.  This file turns on stateless session
 * tickets (TLS 1.3 and 1.2) under keys of our own that rotate every
 * API_TLS_KEY_PERIOD seconds: new tickets are sealed with the current
 * key, and a ticket sealed with the previous key is still accepted for
 * one more period, so no ticket key lives longer than two periods.  Every
 * resumption gets a fresh ticket under the current key.  OpenSSL's default is one random key made with
 * the SSL_CTX and kept for the life of the process.  There is no
 * server-side session cache: all state is in the tickets, whatever the
 * number of clients.  Each handshake is logged at debug level ("full" or
 * "resumed"), which the tests count.
 */
#ifndef VTOKEN_API_TLS_H
#define VTOKEN_API_TLS_H

#define API_TLS_KEY_PERIOD	3600	/* seconds a ticket key seals */

/*
 * Sets up tickets and their keys on ctx (an SSL_CTX *; the keys are
 * freed with it).  0, or -1 after logging why.
 */
int api_tls_tickets(void *ctx);

#endif
