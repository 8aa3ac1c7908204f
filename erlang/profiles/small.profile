%% small: a MongooseIM 6.2.1 node like the one in shared/reference/observed-mim-6.2.1.txt
%% (mongooseim-6.2.1-minimal.toml): one host, mnesia backends, c2s with STARTTLS (fast_tls), an HTTP
%% listener with BOSH and websockets, the system-metrics service configured with report = true and
%% running, no `instrumentation' key, no traffic yet. Host, paths and addresses are distinctive
%% strings so privacy tests can search for them.
{version, "6.2.1"}.
{cluster_id, <<"5e0c6c1e-7f38-4c2f-9d0a-51a11c0ffee1">>}.
{config_path, "/opt/secret-install-7/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-7.example.net">>],
   host_types => [],
   default_server_domain => <<"secret-host-7.example.net">>,
   all_metrics_are_global => false,
   component_backend => mnesia,
   s2s_backend => mnesia,
   sm_backend => mnesia,
   internal_databases => #{mnesia => #{}},
   language => <<"en">>,
   loglevel => warning,
   max_fsm_queue => 1000,
   registration_timeout => infinity,
   hide_service_name => false,
   rdbms_server_type => generic,
   listen =>
       [#{access => c2s, backlog => 1024, backwards_compatible_session => true,
          c2s_state_timeout => 5000, connection_type => undefined, hibernate_after => 0,
          ip_address => "192.0.2.77", ip_tuple => {192, 0, 2, 77}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, reuse_port => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-7/priv/ssl/secret-cert-7.pem",
                   ciphers => "TLSv1.2:TLSv1.3", mode => starttls, module => fast_tls,
                   protocol_options => ["no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1"],
                   verify_mode => none}},
        #{connection_type => undefined,
          handlers =>
              [#{host => '_', module => mod_bosh, path => "/http-bind"},
               #{backwards_compatible_session => true, c2s_state_timeout => 5000, host => '_',
                 max_stanza_size => infinity, module => mod_websockets, path => "/ws-xmpp",
                 timeout => 60000}],
          ip_address => "192.0.2.77", ip_tuple => {192, 0, 2, 77}, ip_version => 4,
          module => ejabberd_cowboy, port => 5280, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}}],
   outgoing_pools => [],
   services =>
       #{service_mongoose_system_metrics =>
             #{initial_report => 300000000, periodic_report => 10800000, report => true}},
   shaper => #{fast => #{max_rate => 50000}, normal => #{max_rate => 1000}},
   {s2s, <<"secret-host-7.example.net">>} =>
       #{default_policy => deny, use_starttls => false, max_retry_delay => 300,
         ciphers => "TLSv1.2:TLSv1.3",
         outgoing => #{connection_timeout => 10000, ip_versions => [4, 6], port => 5269},
         dns => #{retries => 2, timeout => 10}},
   {auth, <<"secret-host-7.example.net">>} =>
       #{methods => [internal], internal => #{}, max_users_per_domain => infinity,
         password => #{format => scram, scram_iterations => 10000},
         sasl_external => [standard]},
   {replaced_wait_timeout, <<"secret-host-7.example.net">>} => 2000}}.

{modules,
 [{<<"secret-host-7.example.net">>,
   [#{mod_bosh => #{backend => mnesia, inactivity => 30, max_pause => 120, max_wait => infinity,
                    server_acks => false},
      mod_disco => #{extra_domains => [], iqdisc => one_queue, server_info => [],
                     users_can_see_hidden_services => false},
      mod_last => #{backend => mnesia, iqdisc => one_queue},
      mod_muc_light => #{all_can_configure => false, all_can_invite => false, backend => mnesia,
                         blocking => true, equal_occupants => false,
                         host => {prefix, <<"muclight.">>}, legacy_mode => false,
                         max_occupants => infinity, rooms_in_rosters => false,
                         rooms_per_page => 10, rooms_per_user => infinity},
      mod_offline => #{access_max_user_messages => max_user_offline_messages, backend => mnesia,
                       store_groupchat_messages => false},
      mod_ping => #{iqdisc => no_queue, ping_interval => 60000, ping_req_timeout => 32000,
                    send_pings => false, timeout_action => none},
      mod_presence => #{},
      mod_private => #{backend => mnesia, iqdisc => one_queue},
      mod_roster => #{backend => mnesia, iqdisc => one_queue, store_current_id => false,
                      versioning => false},
      mod_vcard => #{backend => mnesia, host => {prefix, <<"vjud.">>}, iqdisc => parallel,
                     matches => 30, search => true}}]}]}.

{stanzas, [{xmppMessageSent, 0}, {xmppMessageReceived, 0}, {xmppIqSent, 0},
           {xmppIqReceived, 0}, {xmppPresenceSent, 0}, {xmppPresenceReceived, 0}]}.
