%% v6_6_ws: the v6_6 node with websockets only (no BOSH handler, no service_bosh) and with both
%% exometer and prometheus instrumentation. Exercises: mongoose_bosh_handler exists but stays
%% unloaded (not configured, not configurable), so a client calling into it visibly loads it;
%% the transport is websockets + tcp; prometheus wins over exometer in 6.6+.
{inherit, "v6_6"}.
{update, config,
 #{instrumentation => #{exometer => #{all_metrics_are_global => false, report => #{}},
                        prometheus => #{}, log => #{level => debug}, probe_interval => 15},
   listen =>
       [#{access => c2s, backlog => 1024, connection_type => c2s, hibernate_after => 0,
          ip_address => "203.0.113.66", ip_tuple => {203, 0, 113, 66}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, reuse_port => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-66/priv/ssl/secret-cert-66.pem",
                   mode => starttls, verify_mode => none, keep_secrets => false}},
        #{connection_type => http,
          handlers =>
              [#{host => '_', module => mongoose_websocket_handler, path => "/ws-xmpp"}],
          hibernate_after => 0, ip_address => "203.0.113.66", ip_tuple => {203, 0, 113, 66},
          ip_version => 4, module => ejabberd_cowboy, port => 5280, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}}],
   services => #{service_mongoose_system_metrics =>
                     #{initial_report => 300000, periodic_report => 10800000, report => true}}}}.
