%% v6_3: a MongooseIM 6.3.3 node with 6.3's shipped instrumentation (rel/prod.vars-toml.config:
%% [instrumentation.prometheus] and [instrumentation.log], no exometer). Exercises:
%%  - 6.3 ALWAYS reads stanza counts from exometer, with the 6.3 names
%%    ['_', c2s_element_in | c2s_element_out, <kind>_count]; without exometer instrumentation
%%    there are no such entries, so the six xmpp_stanza_count events are sent with total 0 --
%%    although the node has traffic, counted in prometheus ("c2s_element_in_message_count");
%%  - the `instrumentation' section is always present from 6.3 (probe_interval 15);
%%  - mongoose_instrument and its three handler modules are loaded at boot by the config spec,
%%    exometer is not (nothing uses it), prometheus_counter is;
%%  - GA4 collect/1 with mongoose_component, TLS pairs with `module', one host and one host type.
{version, "6.3.3"}.
{cluster_id, <<"63636363-6363-4636-8636-5ec2e7420063">>}.
{config_path, "/opt/secret-install-63/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-63.example.net">>],
   host_types => [<<"secret tenant 63">>],
   internal_databases => #{mnesia => #{}},
   instrumentation => #{prometheus => #{}, log => #{level => debug}, probe_interval => 15},
   listen =>
       [#{access => c2s, backlog => 1024, connection_type => undefined, hibernate_after => 0,
          ip_address => "192.0.2.63", ip_tuple => {192, 0, 2, 63}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, reuse_port => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-63/priv/ssl/secret-cert-63.pem",
                   mode => starttls, module => fast_tls, verify_mode => none}},
        #{connection_type => undefined,
          handlers =>
              [#{host => '_', module => mod_websockets, path => "/ws-xmpp"},
               #{host => '_', module => mongoose_graphql_handler, path => "/api/graphql",
                 schema_endpoint => admin, username => "secret-gql-admin-63",
                 password => "secret-gql-password-63"},
               #{host => '_', module => mongoose_prometheus_handler, path => "/metrics"}],
          ip_address => "192.0.2.63", ip_tuple => {192, 0, 2, 63}, ip_version => 4,
          module => ejabberd_cowboy, port => 5280, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}}],
   outgoing_pools => [],
   services => #{service_mongoose_system_metrics => #{report => true}}}}.

{modules,
 [{<<"secret-host-63.example.net">>,
   [#{mod_disco => #{iqdisc => one_queue},
      mod_last => #{backend => mnesia, iqdisc => one_queue},
      mod_offline => #{backend => mnesia},
      mod_roster => #{backend => mnesia, iqdisc => one_queue},
      mod_stream_management => #{backend => mnesia, buffer_max => 100},
      mod_ping => #{send_pings => false},
      mod_presence => #{}}]},
  {<<"secret tenant 63">>,
   [#{mod_disco => #{iqdisc => one_queue},
      mod_mam => #{backend => rdbms, pm => #{}},
      mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_presence => #{}}]}]}.

{domains, [{<<"tenant-a.secret-63.example.org">>, <<"secret tenant 63">>}]}.

{stanzas, [{xmppMessageSent, 63}, {xmppMessageReceived, 126}, {xmppIqSent, 630},
           {xmppIqReceived, 629}, {xmppPresenceSent, 6}, {xmppPresenceReceived, 12}]}.
