%% custom: a MongooseIM 6.2.1 node whose operator runs their own modules. They must be counted
%% (custom_module_count) and never named. On two host types:
%%  - mod_acme_billing (on both host types: counted once), mod_zz_secret_audit_4471 (declared with
%%    the American spelling -behavior(gen_mod)), mod_globex_sso_secret, mod_initech_ledger,
%%    mod_tenant_router_x9;
%%  - mod_acme_legacy_hook: configured but not a gen_mod at all, so NOT counted;
%%  - OSS gen_mod modules without the metrics behaviour, counted as custom too: mod_ping,
%%    mod_cache_users, mod_smart_markers, mod_presence.
%% Also: the service configured with report = false (so no process), CETS as the only internal
%% database (the cluster id lives in cets_cluster_id), all_metrics_are_global = true (metric
%% prefix `global'), a c2s listener without TLS and no HTTP listener (empty http_api params).
{version, "6.2.1"}.
{cluster_id, <<"c0570e11-5ec2-4e7a-b0a1-acme00000001">>}.
{config_path, "/opt/secret-install-acme/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-acme.example.net">>],
   host_types => [<<"acme secret tenant">>],
   all_metrics_are_global => true,
   internal_databases => #{cets => #{backend => file,
                                     node_list_file => "/opt/secret-install-acme/etc/cets_nodes.txt"}},
   listen =>
       [#{access => c2s, backlog => 1024, connection_type => undefined, hibernate_after => 0,
          ip_address => "198.51.100.23", ip_tuple => {198, 51, 100, 23}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, shaper => c2s_shaper}],
   outgoing_pools => [],
   services => #{service_mongoose_system_metrics =>
                     #{initial_report => 300000, periodic_report => 10800000, report => false}}}}.

{modules,
 [{<<"secret-host-acme.example.net">>,
   [#{mod_disco => #{iqdisc => one_queue},
      mod_roster => #{backend => mnesia, iqdisc => one_queue},
      mod_acme_billing => #{endpoint => "https://billing.secret-acme.example.com/hook",
                            api_key => "secret-acme-api-key-1"},
      mod_zz_secret_audit_4471 => #{audit_dir => "/var/secret-audit-4471"},
      mod_acme_legacy_hook => #{},
      mod_ping => #{send_pings => false},
      mod_cache_users => #{}}]},
  {<<"acme secret tenant">>,
   [#{mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_acme_billing => #{endpoint => "https://billing.secret-acme.example.com/tenant"},
      mod_globex_sso_secret => #{idp => "https://sso.secret-globex.example.com"},
      mod_initech_ledger => #{},
      mod_tenant_router_x9 => #{routes => [<<"secret-route-x9">>]},
      mod_smart_markers => #{},
      mod_presence => #{}}]}]}.

{domains, [{<<"customer-1.secret-acme.example.org">>, <<"acme secret tenant">>}]}.

{stanzas, [{xmppMessageSent, 100}, {xmppMessageReceived, 250}, {xmppIqSent, 42},
           {xmppIqReceived, 40}, {xmppPresenceSent, 8}, {xmppPresenceReceived, 16}]}.
