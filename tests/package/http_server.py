"""Static file server for package.bootstrap: serves DIR on 127.0.0.1 on a
free port (HTTPS when CERT and KEY are given) and writes the port to
PORTFILE once it listens.  Usage: http_server.py DIR PORTFILE [CERT KEY]"""
import functools
import http.server
import os
import ssl
import sys


def main():
    root, portfile = sys.argv[1], sys.argv[2]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=root)
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    if len(sys.argv) == 5:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + '.tmp', portfile)
    srv.serve_forever()


if __name__ == '__main__':
    main()
