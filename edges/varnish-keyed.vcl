# Varnish as a shared cache in front of the API, its cache key holding the API key: the hash of
# https://varnish-cache.org/docs/7.1/users-guide/vcl-hashing.html with the key header added, as the guide says
# for content that varies by a request header. Each account's reply is cached apart: a conformant deployment,
# the suite must pass through it. Placeholders: {listen}, {upstream}, {workdir}.
# Run in the foreground: varnishd -F -a 127.0.0.1:LISTEN -f THIS-FILE-FILLED-IN -n WORKDIR
vcl 4.1;

backend app {
    .host = "127.0.0.1";
    .port = "{upstream}";
}

sub vcl_hash {
    hash_data(req.url);
    hash_data(req.http.x-api-key);
    return (lookup);
}

sub vcl_backend_response {
    set beresp.ttl = 2s;
}
