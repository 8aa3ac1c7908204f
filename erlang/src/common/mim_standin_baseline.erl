%% MongooseIM's own system-metrics collection, done inside the stand-in with the reads and the
%% rules of the profile's release, derived from that release's
%% src/system_metrics/mongoose_system_metrics_collector.erl (see erlang/README.md, "The node's own
%% collector, release by release"). Two renderings of the same items:
%%
%% native/2   what the release's own collector returns -- the node's
%%            mongoose_system_metrics_collector delegates here:
%%              3.6        collect/0: UA structs, no pools, no stanzas, no config_type
%%              3.7-6.0    collect/1: UA structs #{report_name, key, value}
%%              6.1-6.3    collect/1: GA4 events #{name, params}
%%              6.4-6.5    collect/2 with ExometerEnabled :: boolean()
%%              6.6+       collect/2 with exometer | prometheus | none
%% report/1   the GA4-era events a bridge must send for the node: the native events from 6.1, the
%%            UA items translated into GA4 events for 3.6-6.0 (erlang/README.md, "Expected reports
%%            and judgement calls"), with the stanza backend the node's own service would pick.
%%
%% report/0 also serves as the benchmark yardstick (measure/1).
-module(mim_standin_baseline).

-export([native/2, report/0, report/1, report_json/0, report_json/1, stanza_totals/0,
         measure/1]).

-define(STANZA_TYPES, [xmppMessageSent, xmppMessageReceived, xmppIqSent, xmppIqReceived,
                       xmppPresenceSent, xmppPresenceReceived]).

%% ---------------------------------------------------------------------------------------------
%% The release's own collector

%% Arg: ignored up to 6.3 (3.6 passes `none'); 6.4-6.5 true | false; 6.6+ exometer | prometheus |
%% none. Anything else fails as the release's collector would (function_clause).
native(Prev, Arg) ->
    V = version(),
    Items = items(V, native_prev_totals(V, Prev), native_backend(V, Arg)),
    case V < {6, 1, 0} of
        true -> ua(V, Items);
        false -> ga4(Items)
    end.

native_backend(V, _) when V < {3, 7, 0} -> none;
native_backend(V, _) when V < {6, 4, 0} -> exometer;
native_backend(V, true) when V < {6, 6, 0} -> exometer;
native_backend(V, false) when V < {6, 6, 0} -> none;
native_backend(V, Module) when V >= {6, 6, 0}, is_atom(Module) ->
    case lists:member(Module, [exometer, prometheus, none]) of
        true -> Module;
        false -> erlang:error(function_clause, [Module])
    end;
native_backend(_V, Arg) -> erlang:error(function_clause, [Arg]).

%% calculate_stanza_rate/2: the totals of the previous report of the release's own format.
native_prev_totals(V, Prev) when V < {6, 1, 0} ->
    [{Name, Total} || #{report_name := Name, key := Total} <- Prev];
native_prev_totals(_V, Prev) ->
    [{Name, Total} || #{name := xmpp_stanza_count, params := #{stanza_type := Name, total := Total}}
                          <- Prev].

%% ---------------------------------------------------------------------------------------------
%% The GA4-era report a bridge must produce

report() -> report([]).

%% PrevReport: GA4 events or UA structs (either format gives the previous totals).
report(PrevReport) ->
    V = version(),
    Prev = native_prev_totals({6, 1, 0}, PrevReport) ++ native_prev_totals({6, 0, 0}, PrevReport),
    Items = items(V, Prev, mim_standin_era:stanza_backend(mim_standin:profile())),
    case V < {6, 1, 0} of
        true -> ga4_translation(Items);
        false -> ga4(Items)
    end.

report_json() -> report_json([]).

report_json(PrevReport) -> mim_standin_json:encode(report(PrevReport)).

%% The totals the node's own collector would read now, per stanza type (#{} where it reads none).
stanza_totals() ->
    V = version(),
    maps:from_list(stanza_counts(V, mim_standin_era:stanza_backend(mim_standin:profile()))).

%% ---------------------------------------------------------------------------------------------
%% Items, read with the release's own functions

version() ->
    case mim_standin:api() of
        not_mim -> error(not_mongooseim);
        V -> V
    end.

items(V, PrevTotals, Backend) ->
    HTs = host_types(V),
    AllModules = lists:append([gen_mod:loaded_modules(HT) || HT <- HTs]),
    Reported = filter_behaviour(lists:usort(AllModules), mongoose_module_metrics),
    GenMods = sets:from_list(filter_behaviour(AllModules, gen_mod)),
    MetricsMods = sets:from_list(filter_behaviour(AllModules, mongoose_module_metrics)),
    Listeners = listeners(V),
    Items = #{hosts => length(HTs),
              modules => [{M, module_metrics(M, HT)} || HT <- HTs, M <- Reported],
              custom => sets:size(sets:subtract(GenMods, MetricsMods)),
              cluster => cluster(V),
              http_api => http_apis(V, Listeners),
              transport => transports(V, Listeners),
              tls => tls(V, Listeners)},
    maps:merge(Items, maps:from_list(
                        [{domains, mongoose_domain_core:domains_count()} || V >= {5, 0, 0}]
                        ++ [{pools, pools(V)} || V >= {3, 7, 0}]
                        ++ [{stanzas, stanzas(V, Backend, PrevTotals)}
                            || V >= {3, 7, 0}, Backend =/= none])).

host_types(V) when V < {5, 0, 0} ->
    ejabberd_config:get_global_option(hosts);
host_types(V) when V < {5, 1, 0} ->
    ejabberd_config:get_global_option_or_default(hosts, [])
        ++ ejabberd_config:get_global_option_or_default(host_types, []);
host_types(_V) ->
    mongoose_config:get_opt(hosts) ++ mongoose_config:get_opt(host_types).

filter_behaviour(Modules, Behaviour) ->
    lists:filter(fun(M) ->
                         try lists:keyfind([Behaviour], 2, M:module_info(attributes)) of
                             {behavior, _} -> true;
                             {behaviour, _} -> true;
                             _ -> false
                         catch _:_ -> false
                         end
                 end, Modules).

%% config_metrics/1 when exported, else [{none, none}]. Before 5.1 opts_for_module/3 answers the
%% bare tuple {none, none} on error; the UA rendering then crashes as MongooseIM's does.
module_metrics(M, HT) ->
    case erlang:function_exported(M, config_metrics, 1) of
        true -> M:config_metrics(HT);
        false -> [{none, none}]
    end.

%% [{Key, Value}] in the UA order; mim_version only when the application is found.
cluster(V) ->
    {UptimeMs, _} = erlang:statistics(wall_clock),
    {D, {H, Mi, S}} = calendar:seconds_to_daystime(UptimeMs div 1000),
    Uptime = list_to_binary(io_lib:format("~4..0B-~2..0B:~2..0B:~2..0B", [D, H, Mi, S])),
    Version = case lists:keyfind(mongooseim, 1, application:which_applications()) of
                  {_, _, Vsn} -> [{mim_version, list_to_binary(Vsn)}];
                  false -> []
              end,
    [{uptime, Uptime}, {number_of_nodes, length(nodes()) + 1}] ++ Version
        ++ [{number_of_components, components(V)}]
        ++ [{config_type, config_type(V)} || V >= {4, 0, 1}].

components(V) when V < {5, 1, 0} ->
    count_components(ejabberd_router, ejabberd_router:dirty_get_all_domains());
components(V) when V < {6, 2, 0} ->
    count_components(ejabberd_router, mongoose_router:get_all_domains()
                     ++ ejabberd_router:dirty_get_all_components(all));
components(_V) ->
    count_components(mongoose_component, mongoose_router:get_all_domains()
                     ++ mongoose_component:dirty_get_all_components(all)).

count_components(Mod, Domains) ->
    length(lists:flatten([Mod:lookup_component(D, node()) || D <- Domains])).

config_type(V) ->
    Path = case V < {5, 1, 0} of
               true -> ejabberd_config:get_config_path();
               false -> mongoose_config:get_config_path()
           end,
    case filename:extension(Path) of
        ".toml" -> toml;
        ".cfg" -> cfg;
        _ -> unknown_config_type
    end.

%% 3.6 reads `listen' without a default (a node without it would crash the collector).
listeners(V) when V < {3, 7, 0} -> ejabberd_config:get_local_option(listen);
listeners(V) when V < {5, 1, 0} -> ejabberd_config:get_local_option_or_default(listen, []);
listeners(_V) -> mongoose_config:get_opt(listen).

%% The flattened options of every listener of a module (get_service_option/1, 3.6-5.0).
service_options(Module, Listeners) ->
    lists:flatten([Opts || {_, M, Opts} <- Listeners, M =:= Module]).

%% The listener maps of a module (get_listeners/1, 5.1+).
listeners_of(Module, Listeners) ->
    lists:filter(fun(#{module := M}) -> M =:= Module end, Listeners).

http_handler_modules(Listeners) ->
    lists:usort(lists:flatmap(fun(#{handlers := Hs}) -> [M || #{module := M} <- Hs] end,
                              listeners_of(ejabberd_cowboy, Listeners))).

http_apis(V, Listeners) when V < {5, 1, 0} ->
    Entries = lists:flatten([Ms || {modules, Ms} <- service_options(ejabberd_cowboy, Listeners)]),
    [A || A <- lists:usort([element(3, E) || E <- Entries]), lists:member(A, http_allowlist(V))];
http_apis(V, Listeners) ->
    [A || A <- http_handler_modules(Listeners), lists:member(A, http_allowlist(V))].

http_allowlist(V) when V < {5, 1, 0} ->
    [mongoose_api, mongoose_client_api_rooms_messages, mongoose_client_api_rooms_users,
     mongoose_client_api_rooms_config, mongoose_client_api_rooms, mongoose_client_api_contacts,
     mongoose_client_api_messages, lasse_handler, mongoose_api_admin, mod_bosh, mod_websockets,
     mod_revproxy];
http_allowlist(V) when V < {6, 0, 0} ->
    [mongoose_api, mongoose_client_api, mongoose_api_admin, mongoose_api_client,
     mongoose_domain_handler, mod_bosh, mod_websockets];
http_allowlist(V) when V < {6, 6, 0} ->
    [mongoose_client_api, mongoose_admin_api, mod_bosh, mod_websockets];
http_allowlist(_V) ->
    [mongoose_bosh_handler, mongoose_graphql_handler, mongoose_websocket_handler].

%% 3.6-5.0: BOSH / websockets only if in the FIRST `modules' entry of all cowboy listeners' options,
%% tcp if the c2s listeners have any options at all.
transports(V, Listeners) when V < {5, 1, 0} ->
    First = proplists:get_value(modules, service_options(ejabberd_cowboy, Listeners), []),
    lists:usort([T || T <- [mod_bosh, mod_websockets], lists:keyfind(T, 3, First) =/= false]
                ++ [tcp || tcp_configured(Listeners)]);
transports(V, Listeners) ->
    Handlers = case V < {6, 6, 0} of
                   true -> [mod_bosh, mod_websockets];
                   false -> [mongoose_bosh_handler, mongoose_websocket_handler]
               end,
    [M || M <- http_handler_modules(Listeners), lists:member(M, Handlers)]
        ++ lists:usort([tcp || #{proto := tcp} <- listeners_of(c2s_module(V), Listeners)]).

tcp_configured(Listeners) ->
    [] =/= lists:usort(service_options(ejabberd_c2s, Listeners)).

c2s_module(V) when V < {6, 1, 0} -> ejabberd_c2s;
c2s_module(_V) -> mongoose_c2s_listener.

%% 3.6-5.0: one {Mode, Module} for all c2s listeners together, only when tcp is configured: the
%% first of starttls, starttls_required, tls among their flattened options, just_tls if any has
%% {tls_module, just_tls}, else fast_tls; {none, none} when no mode is found.
%% 5.1+: the usorted pairs of the c2s listeners whose tls map has mode and module (no 6.4+ map
%% has `module').
tls(V, Listeners) when V < {5, 1, 0} ->
    Opts = service_options(ejabberd_c2s, Listeners),
    Module = case lists:member({tls_module, just_tls}, Opts) of
                 true -> just_tls;
                 false -> fast_tls
             end,
    case {tcp_configured(Listeners), [M || M <- [starttls, starttls_required, tls], lists:member(M, Opts)]} of
        {true, [Mode | _]} -> [{Mode, Module}];
        {true, []} -> [{none, none}];
        {false, _} -> []
    end;
tls(V, Listeners) ->
    lists:usort([{Mode, Mod} || #{tls := #{mode := Mode, module := Mod}}
                                    <- listeners_of(c2s_module(V), Listeners)]).

pools(V) when V < {5, 1, 0} ->
    [Type || {Type, _, _, _, _} <- ejabberd_config:get_local_option_or_default(outgoing_pools, [])];
pools(_V) ->
    [Type || #{type := Type} <- mongoose_config:get_opt(outgoing_pools)].

%% ---------------------------------------------------------------------------------------------
%% Stanzas

stanzas(V, Backend, PrevTotals) ->
    [{T, Total, case proplists:get_value(T, PrevTotals) of
                    undefined -> Total;
                    Old -> Total - Old
                end} || {T, Total} <- stanza_counts(V, Backend)].

stanza_counts(_V, none) ->
    [];
stanza_counts(V, exometer) ->
    [{T, lists:foldl(fun({_, [{count, C}, {one, _}]}, Sum) -> C + Sum end, 0,
                     exometer:get_values(mim_standin_metrics:exometer_pattern(V, T)))}
     || T <- ?STANZA_TYPES];
stanza_counts(V, prometheus) ->
    [{T, lists:foldl(fun({_Labels, C}, Sum) -> C + Sum end, 0,
                     prometheus_counter:values(default, mim_standin_metrics:prometheus_name(V, T)))}
     || T <- ?STANZA_TYPES].

%% ---------------------------------------------------------------------------------------------
%% Renderings

%% Universal Analytics structs, in the release's report_getters/0 order (stanzas last).
ua(V, Items) ->
    #{hosts := Hosts, modules := Modules, custom := Custom, cluster := Cluster,
      http_api := Apis, transport := Transports, tls := Tls} = Items,
    lists:append(
      [[ua(hosts, count, Hosts)],
       [ua(domains, count, D) || {ok, D} <- [maps:find(domains, Items)]],
       %% lists:map, like the original: a bare {none, none} tuple crashes here (before 5.1).
       lists:append([lists:map(fun({K, Val}) -> ua(M, K, Val) end, Pairs) || {M, Pairs} <- Modules]),
       [ua(custom_modules, count, Custom)],
       [ua(cluster, K, Val) || {K, Val} <- Cluster, K =/= config_type],
       [ua(http_api, A, enabled) || A <- Apis],
       [ua(transport_mechanism, T, enabled) || T <- Transports],
       [ua(tls_option, Mode, Mod) || {Mode, Mod} <- Tls],
       [ua(outgoing_pools, type, T) || T <- maps:get(pools, Items, [])],
       [ua(cluster, config_type, CT) || {config_type, CT} <- Cluster, V >= {4, 0, 1}],
       [ua(T, Total, Inc) || {T, Total, Inc} <- maps:get(stanzas, Items, [])]]).

ua(Name, Key, Value) -> #{report_name => Name, key => Key, value => Value}.

%% GA4 events as 6.1+ builds them.
ga4(Items) ->
    #{hosts := Hosts, modules := Modules, custom := Custom, cluster := Cluster,
      http_api := Apis, transport := Transports, tls := Tls} = Items,
    lists:append(
      [[ev(host_count, #{value => Hosts})],
       [ev(domain_count, #{value => D}) || {ok, D} <- [maps:find(domains, Items)]],
       [ev(module_with_opt, module_params(M, Pairs, fun(X) -> X end)) || {M, Pairs} <- Modules],
       [ev(custom_module_count, #{value => Custom})],
       [ev(cluster, cluster_params(Cluster))],
       [ev(http_api, enabled(Apis))],
       [ev(transport_mechanism, enabled(Transports))],
       %% get_tls_options/0 folds with a prepend: the pairs come out in reverse order.
       lists:reverse([ev(tls_option, #{mode => Mode, module => Mod}) || {Mode, Mod} <- Tls]),
       [ev(outgoing_pool, #{value => T}) || T <- maps:get(pools, Items, [])],
       stanza_events(Items)]).

%% The UA items of 3.6-6.0 as the GA4 events a bridge sends for them: the GA4 order, the item set
%% of the release, no http_api / transport_mechanism event when the UA report has no struct of
%% that kind, one tls_option per UA struct, charlists as strings.
ga4_translation(Items) ->
    #{hosts := Hosts, modules := Modules, custom := Custom, cluster := Cluster,
      http_api := Apis, transport := Transports, tls := Tls} = Items,
    lists:append(
      [[ev(host_count, #{value => Hosts})],
       [ev(domain_count, #{value => D}) || {ok, D} <- [maps:find(domains, Items)]],
       [ev(module_with_opt, module_params(M, Pairs, fun ga4_value/1)) || {M, Pairs} <- Modules],
       [ev(custom_module_count, #{value => Custom})],
       [ev(cluster, cluster_params(Cluster))],
       [ev(http_api, enabled(Apis)) || Apis =/= []],
       [ev(transport_mechanism, enabled(Transports)) || Transports =/= []],
       [ev(tls_option, #{mode => Mode, module => Mod}) || {Mode, Mod} <- Tls],
       [ev(outgoing_pool, #{value => T}) || T <- maps:get(pools, Items, [])],
       stanza_events(Items)]).

ev(Name, Params) -> #{name => Name, params => Params}.

enabled(Keys) -> maps:from_list([{K, enabled} || K <- Keys]).

%% {none, _} pairs dropped, later keys win (report_module_with_opts/2, 6.1+). A bare
%% {none, none} tuple (before 5.1) counts as no options.
module_params(M, Pairs, Value) when is_list(Pairs) ->
    lists:foldl(fun({none, _}, Acc) -> Acc;
                   ({K, Val}, Acc) -> Acc#{K => Value(Val)}
                end, #{module => M}, Pairs);
module_params(M, _Tuple, _Value) ->
    #{module => M}.

cluster_params(Cluster) ->
    Names = #{uptime => uptime, number_of_nodes => node_number, mim_version => version,
              number_of_components => component, config_type => config_type},
    maps:from_list([{maps:get(K, Names), Val} || {K, Val} <- Cluster]).

stanza_events(Items) ->
    [ev(xmpp_stanza_count, #{stanza_type => T, total => Total, increment => Inc})
     || {T, Total, Inc} <- maps:get(stanzas, Items, [])].

%% GA4 carries strings, not charlists (3.6-5.0 mod_push_service_mongoosepush reports "v3").
ga4_value(V) when is_list(V) ->
    case io_lib:printable_unicode_list(V) of
        true -> unicode:characters_to_binary(V);
        false -> V
    end;
ga4_value(V) -> V.

%% ---------------------------------------------------------------------------------------------
%% Benchmark yardstick

%% N full in-VM reports in a fresh process: {median microseconds, median reductions} per report.
measure(N) when is_integer(N), N > 0 ->
    {Pid, Ref} = spawn_monitor(fun() -> exit({result, [sample() || _ <- lists:seq(1, N)]}) end),
    receive
        {'DOWN', Ref, process, Pid, {result, Samples}} ->
            {Times, Reds} = lists:unzip(Samples),
            {median(Times), median(Reds)};
        {'DOWN', Ref, process, Pid, Other} ->
            error(Other)
    end.

sample() ->
    {reductions, R0} = erlang:process_info(self(), reductions),
    T0 = erlang:monotonic_time(microsecond),
    _ = report(),
    T1 = erlang:monotonic_time(microsecond),
    {reductions, R1} = erlang:process_info(self(), reductions),
    {T1 - T0, R1 - R0}.

median(L) -> lists:nth((length(L) + 1) div 2, lists:sort(L)).
