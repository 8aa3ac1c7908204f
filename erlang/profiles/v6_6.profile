%% v6_6: a MongooseIM 6.6.0 node (6.6-6.8 era) with BOSH. What changed in 6.6: collect/2 takes the
%% stanza backend, prometheus when [instrumentation.prometheus] is configured
%% (prometheus_counter:values(default, "xmpp_element_in_message_count") summed over its label
%% sets, which exist from start-up with 0: c2s per host type plus host_type <<>>); exometer is
%% not configured, so it has no stanza metrics. The HTTP handlers are mongoose_bosh_handler,
%% mongoose_websocket_handler and mongoose_graphql_handler (the new allow-lists), BOSH is a service
%% (service_bosh; mod_bosh is gone, and so are the REST API handlers mongoose_client_api and
%% mongoose_admin_api). mod_caps still has the metrics behaviour in 6.6 (reported; custom from
%% 6.7). TLS without `module'. mongoose_bosh_handler is loaded at boot because it is configured.
{version, "6.6.0"}.
{cluster_id, <<"ephemeral-6d6e6f70-66a6-4b66-8c66-5ec2e7420066">>}.
{config_path, "/opt/secret-install-66/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-66.example.net">>],
   host_types => [],
   internal_databases => #{mnesia => #{}},
   instrumentation => #{prometheus => #{}, log => #{level => debug}, probe_interval => 15},
   listen =>
       [#{access => c2s, backlog => 1024, connection_type => c2s, hibernate_after => 0,
          ip_address => "203.0.113.66", ip_tuple => {203, 0, 113, 66}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, reuse_port => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-66/priv/ssl/secret-cert-66.pem",
                   mode => starttls, verify_mode => none, keep_secrets => false}},
        #{connection_type => undefined,
          handlers =>
              [#{host => '_', module => mongoose_bosh_handler, path => "/http-bind"},
               #{host => '_', module => mongoose_websocket_handler, path => "/ws-xmpp"},
               #{host => '_', module => mongoose_graphql_handler, path => "/api/graphql",
                 schema_endpoint => user},
               #{host => '_', module => mongoose_prometheus_handler, path => "/metrics"}],
          ip_address => "203.0.113.66", ip_tuple => {203, 0, 113, 66}, ip_version => 4,
          module => ejabberd_cowboy, port => 5280, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}}],
   outgoing_pools => [],
   services => #{service_mongoose_system_metrics =>
                     #{initial_report => 300000, periodic_report => 10800000, report => true},
                 service_bosh => #{backend => mnesia, inactivity => 30, max_wait => infinity}}}}.

{modules,
 [{<<"secret-host-66.example.net">>,
   [#{mod_caps => #{backend => mnesia},
      mod_disco => #{iqdisc => one_queue},
      mod_mam => #{backend => rdbms, pm => #{}},
      mod_muc_light => #{backend => rdbms},
      mod_offline => #{backend => rdbms},
      mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_ping => #{send_pings => false},
      mod_presence => #{}}]}]}.

{stanzas, [{xmppMessageSent, 660}, {xmppMessageReceived, 1320}, {xmppIqSent, 606},
           {xmppIqReceived, 600}, {xmppPresenceSent, 66}, {xmppPresenceReceived, 132}]}.
