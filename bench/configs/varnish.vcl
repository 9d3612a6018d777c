# Varnish 7.1 (Debian's) for the proxy benchmarks (bench/proxy.sh), as a proxy and not a
# cache: every request is passed (return (pass) in vcl_recv), so each one is fetched from the
# upstream and nothing is stored. Backend connections are pooled and kept alive by default
# (backend_idle_timeout, set to 60 s on the command line). varnishd runs with -s malloc (the
# cache storage, unused by passed requests: their bodies go through Transient storage) and
# thread_pools = 2; see start_varnish in bench/lib.sh. The @…@ placeholders are filled there.
vcl 4.1;

backend origin {
    .host = "127.0.0.1";
    .port = "@UPSTREAM_PORT@";
}

sub vcl_recv {
    return (pass);
}
