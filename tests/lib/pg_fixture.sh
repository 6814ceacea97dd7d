#!/bin/sh
# pg_fixture.sh: a real PostgreSQL server for the tests, started and
# stopped by the suite itself (initdb and pg_ctl in a directory of the
# build tree, on a free loopback port; as the postgres user when the
# suite runs as root, since PostgreSQL refuses to run as root).
#
#   pg_fixture.sh start DIR     initdb + start; writes DIR/dsn
#   pg_fixture.sh stop DIR      stop (fast) and remove DIR
#   pg_fixture.sh createdb DIR  a fresh database; prints its DSN
#   pg_fixture.sh restart DIR   stop and start the same server
#   pg_fixture.sh halt DIR      stop it, keep DIR (then: start-again)
#   pg_fixture.sh start-again DIR
#   pg_fixture.sh ensure DIR    start-again unless it is running
set -eu

cmd=$1
dir=$2

bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	echo "pg_fixture: no PostgreSQL server (scripts/deps.sh test installs it)" >&2
	return 1
}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_start() {
	bin=$(bindir)
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
	    -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" \
	    start >/dev/null
}

case $cmd in
start)
	bin=$(bindir)
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 700 "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -A trust -U vtoken -E UTF8 \
	    --no-sync >"$dir/initdb.log" 2>&1 ||
	    { cat "$dir/initdb.log" >&2; exit 1; }
	free_port > "$dir/port"
	[ "$(id -u)" -eq 0 ] && chown postgres "$dir/port"
	pg_start || { cat "$dir/server.log" >&2; exit 1; }
	echo "host=127.0.0.1 port=$(cat "$dir/port") user=vtoken" > "$dir/dsn"
	echo "pg_fixture: PostgreSQL on $(cat "$dir/dsn")"
	;;
createdb)
	name="vt_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	psql -q -X "$(cat "$dir/dsn") dbname=postgres" \
	    -c "CREATE DATABASE $name" >/dev/null
	echo "$(cat "$dir/dsn") dbname=$name"
	;;
restart)
	as_pg "$(bindir)/pg_ctl" -D "$dir/data" -w -m fast restart \
	    -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" \
	    >/dev/null
	;;
halt)
	as_pg "$(bindir)/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null
	;;
start-again)
	pg_start
	;;
ensure)
	as_pg "$(bindir)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 ||
	    pg_start
	;;
stop)
	if [ -d "$dir/data" ]; then
		as_pg "$(bindir)/pg_ctl" -D "$dir/data" -w -m fast stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: pg_fixture.sh start|stop|createdb|restart|halt|start-again|ensure DIR" >&2
	exit 2
	;;
esac
