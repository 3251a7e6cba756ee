# Varnish with its built-in cache key (URL and Host: https://varnish-cache.org/docs/7.1/users-guide/vcl-hashing.html)
# in front of an API whose key travels in x-api-key, a header the built-in VCL does not look at (it passes only
# requests with Authorization or Cookie). A shared cache keyed without the API key: the first account's reply is
# served to whoever asks next. A misconfiguration the suite must fail, for its own reason (foreign-job,
# door-locked), not for noise. Placeholders: {listen}, {upstream}, {workdir}.
vcl 4.1;

backend app {
    .host = "127.0.0.1";
    .port = "{upstream}";
}

sub vcl_backend_response {
    set beresp.ttl = 2s;
}
