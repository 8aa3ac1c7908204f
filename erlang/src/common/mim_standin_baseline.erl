%% The in-VM baseline: MongooseIM's own system-metrics collection, done locally inside the stand-in
%% with the same reads (the MongooseIM-named functions of the node's generation) and returned as
%% GA4-era events #{name => atom(), params => map()}, in MongooseIM's item order:
%%   host_count, domain_count (5.x+), module_with_opt..., custom_module_count, cluster, http_api,
%%   transport_mechanism, tls_option..., outgoing_pool..., xmpp_stanza_count...
%% It is both the reference report for tests and the benchmark yardstick (measure/1).
%% ua_report/1 gives the Universal-Analytics-era structs #{report_name, key, value} that a 4.x-6.0
%% node's own collect/1 returns.
-module(mim_standin_baseline).

-export([report/0, report/1, report/2, report_json/0, report_json/1,
         ua_report/0, ua_report/1, stanza_totals/0, measure/1]).

-define(STANZA_TYPES, [xmppMessageSent, xmppMessageReceived, xmppIqSent, xmppIqReceived,
                       xmppPresenceSent, xmppPresenceReceived]).

%% ---------------------------------------------------------------------------------------------
%% GA4-era report

report() -> report([]).

report(PrevReport) -> report(PrevReport, default).

%% StanzaBackend: default (the generation's own choice) | exometer | prometheus | none, or the
%% boolean "exometer enabled" that 6.4-6.5 pass around.
report(PrevReport, StanzaBackend) ->
    Api = mongooseim_api(),
    HTs = host_types(Api),
    {Metrics, CustomCount} = modules(HTs),
    Listeners = listeners(Api),
    lists:append(
      [[ev(host_count, #{value => length(HTs)})],
       [ev(domain_count, #{value => mongoose_domain_core:domains_count()}) || has_domains(Api)],
       [ev(module_with_opt, module_params(M, HT)) || HT <- HTs, M <- Metrics],
       [ev(custom_module_count, #{value => CustomCount})],
       [ev(cluster, cluster(Api))],
       [ev(http_api, enabled_map(http_apis(Api, Listeners)))],
       [ev(transport_mechanism, enabled_map(transports(Api, Listeners)))],
       [ev(tls_option, #{mode => Mode, module => Mod}) || {Mode, Mod} <- tls_ga4(Api, Listeners)],
       [ev(outgoing_pool, #{value => T}) || T <- pools(Api)],
       stanza_events(Api, StanzaBackend, PrevReport)]).

report_json() -> report_json([]).

report_json(PrevReport) -> mim_standin_json:encode(report(PrevReport)).

ev(Name, Params) -> #{name => Name, params => Params}.

enabled_map(Keys) -> maps:from_list([{K, enabled} || K <- Keys]).

module_params(M, HT) ->
    maps:from_list([{module, M} | [{K, ga4_value(V)} || {K, V} <- module_pairs(M, HT), K =/= none]]).

%% config_metrics/1 when exported, else [{none, none}]. Before 5.1 opts_for_module/3 returns the
%% bare tuple {none, none} on error (MongooseIM's own reporter then crashes); here it means "no opts".
module_pairs(M, HT) ->
    case erlang:function_exported(M, config_metrics, 1) of
        true ->
            case M:config_metrics(HT) of
                L when is_list(L) -> L;
                _ -> [{none, none}]
            end;
        false -> [{none, none}]
    end.

%% GA4 carries strings, not charlists (4.x mod_push_service_mongoosepush reports "v3").
ga4_value(V) when is_list(V) ->
    case io_lib:printable_unicode_list(V) of
        true -> unicode:characters_to_binary(V);
        false -> V
    end;
ga4_value(V) -> V.

%% ---------------------------------------------------------------------------------------------
%% UA-era report (what collect/1 returns on 4.x-6.0)

ua_report() -> ua_report([]).

ua_report(PrevReport) ->
    Api = mongooseim_api(),
    HTs = host_types(Api),
    {Metrics, CustomCount} = modules(HTs),
    Listeners = listeners(Api),
    Cluster = cluster(Api),
    lists:append(
      [[ua(hosts, count, length(HTs))],
       [ua(domains, count, mongoose_domain_core:domains_count()) || has_domains(Api)],
       %% lists:map, like the original: a {none, none} tuple from opts_for_module/3 crashes here.
       lists:append([lists:map(fun({K, V}) -> ua(M, K, V) end, ua_pairs(M, HT))
                     || HT <- HTs, M <- Metrics]),
       [ua(custom_modules, count, CustomCount)],
       [ua(cluster, uptime, maps:get(uptime, Cluster)),
        ua(cluster, number_of_nodes, maps:get(node_number, Cluster)),
        ua(cluster, mim_version, maps:get(version, Cluster)),
        ua(cluster, number_of_components, maps:get(component, Cluster))],
       [ua(http_api, A, enabled) || A <- http_apis(Api, Listeners)],
       [ua(transport_mechanism, T, enabled) || T <- transports(Api, Listeners)],
       [ua(tls_option, Mode, Mod) || {Mode, Mod} <- tls_ua(Api, Listeners)],
       [ua(outgoing_pools, type, T) || T <- pools(Api)],
       [ua(cluster, config_type, maps:get(config_type, Cluster))],
       [ua(T, Total, Inc) || {T, Total, Inc} <- stanza_counts(Api, default, PrevReport)]]).

ua(Name, Key, Value) -> #{report_name => Name, key => Key, value => Value}.

ua_pairs(M, HT) ->
    case erlang:function_exported(M, config_metrics, 1) of
        true -> M:config_metrics(HT);
        false -> [{none, none}]
    end.

%% ---------------------------------------------------------------------------------------------
%% Reads

mongooseim_api() ->
    case mim_standin:api() of
        not_mim -> error(not_mongooseim);
        Api -> Api
    end.

host_types({4, _}) -> ejabberd_config:get_global_option(hosts);
host_types(_) -> mongoose_config:get_opt(hosts) ++ mongoose_config:get_opt(host_types).

has_domains({4, _}) -> false;
has_domains(_) -> true.

%% {Modules with the metrics behaviour (reported), number of other gen_mod modules (custom)}.
modules(HTs) ->
    Loaded = lists:usort(lists:append([gen_mod:loaded_modules(HT) || HT <- HTs])),
    Metrics = [M || M <- Loaded, has_behaviour(M, mongoose_module_metrics)],
    Custom = [M || M <- Loaded, has_behaviour(M, gen_mod)] -- Metrics,
    {Metrics, length(Custom)}.

has_behaviour(M, Behaviour) ->
    lists:keyfind([Behaviour], 2, M:module_info(attributes)) =/= false.

listeners({4, _}) -> ejabberd_config:get_local_option_or_default(listen, []);
listeners(_) -> mongoose_config:get_opt(listen).

cluster(Api) ->
    {UptimeMs, _} = erlang:statistics(wall_clock),
    {D, {H, Mi, S}} = calendar:seconds_to_daystime(UptimeMs div 1000),
    Uptime = iolist_to_binary(io_lib:format("~4..0B-~2..0B:~2..0B:~2..0B", [D, H, Mi, S])),
    Version = case lists:keyfind(mongooseim, 1, application:which_applications()) of
                  {mongooseim, _, Vsn} -> list_to_binary(Vsn);
                  false -> []
              end,
    #{uptime => Uptime, version => Version, component => components(Api),
      node_number => length(erlang:nodes()) + 1, config_type => config_type(Api)}.

components({4, _}) ->
    count_components(ejabberd_router, ejabberd_router:dirty_get_all_domains());
components({6, N}) when N >= 2 ->
    count_components(mongoose_component, mongoose_router:get_all_domains()
                     ++ mongoose_component:dirty_get_all_components(all));
components(_) ->
    count_components(ejabberd_router, mongoose_router:get_all_domains()
                     ++ ejabberd_router:dirty_get_all_components(all)).

count_components(Mod, Domains) ->
    length(lists:flatten([Mod:lookup_component(D, node()) || D <- Domains])).

config_type(Api) ->
    Path = case Api of
               {4, _} -> ejabberd_config:get_config_path();
               _ -> mongoose_config:get_config_path()
           end,
    case filename:extension(Path) of
        ".toml" -> toml;
        ".cfg" -> cfg;
        _ -> unknown_config_type
    end.

http_apis({4, _} = Api, Listeners) ->
    Entries = lists:flatten([proplists:get_value(modules, Opts, [])
                             || {_, ejabberd_cowboy, Opts} <- Listeners]),
    allowed(Api, [element(3, E) || E <- Entries]);
http_apis(Api, Listeners) ->
    allowed(Api, handler_modules(Listeners)).

handler_modules(Listeners) ->
    [maps:get(module, H) || #{module := ejabberd_cowboy, handlers := Hs} <- Listeners, H <- Hs].

allowed(Api, Modules) ->
    Allow = http_allowlist(Api),
    lists:usort([M || M <- Modules, lists:member(M, Allow)]).

http_allowlist({4, _}) ->
    [mongoose_api, mongoose_client_api_rooms_messages, mongoose_client_api_rooms_users,
     mongoose_client_api_rooms_config, mongoose_client_api_rooms, mongoose_client_api_contacts,
     mongoose_client_api_messages, lasse_handler, mongoose_api_admin, mod_bosh, mod_websockets,
     mod_revproxy];
http_allowlist({5, _}) ->
    [mongoose_api, mongoose_client_api, mongoose_api_admin, mongoose_api_client,
     mongoose_domain_handler, mod_bosh, mod_websockets];
http_allowlist({6, N}) when N =< 5 ->
    [mongoose_client_api, mongoose_admin_api, mod_bosh, mod_websockets];
http_allowlist({6, _}) ->
    [mongoose_bosh_handler, mongoose_graphql_handler, mongoose_websocket_handler].

transports({4, _}, Listeners) ->
    %% Only the first `modules' entry among all cowboy listeners is looked at.
    CowboyOpts = lists:flatten([Opts || {_, ejabberd_cowboy, Opts} <- Listeners]),
    First = proplists:get_value(modules, CowboyOpts, []),
    [T || T <- [mod_bosh, mod_websockets], lists:keyfind(T, 3, First) =/= false]
        ++ [tcp || lists:keymember(ejabberd_c2s, 2, Listeners)];
transports(Api, Listeners) ->
    Handlers = handler_modules(Listeners),
    C2S = c2s_module(Api),
    lists:usort([H || H <- Handlers, lists:member(H, transport_handlers(Api))])
        ++ [tcp || lists:any(fun(#{module := M, proto := tcp}) -> M =:= C2S;
                               (_) -> false
                             end, Listeners)].

transport_handlers({6, N}) when N >= 6 -> [mongoose_bosh_handler, mongoose_websocket_handler];
transport_handlers(_) -> [mod_bosh, mod_websockets].

c2s_module({5, _}) -> ejabberd_c2s;
c2s_module({6, 0}) -> ejabberd_c2s;
c2s_module(_) -> mongoose_c2s_listener.

%% 4.x: at most one {Mode, Module} for all c2s listeners together; {none, none} when no mode.
tls_4(Listeners) ->
    Opts = lists:flatten([O || {_, ejabberd_c2s, O} <- Listeners]),
    Module = case lists:member({tls_module, just_tls}, Opts) of
                 true -> just_tls;
                 false -> fast_tls
             end,
    case [M || M <- [starttls, starttls_required, tls], lists:member(M, Opts)] of
        [Mode | _] -> {Mode, Module};
        [] -> {none, none}
    end.

%% 5.1+: the unique {Mode, Module} pairs of c2s listeners whose tls map has both keys. From 6.4
%% the map has no `module' key, so there are none.
tls_pairs(Api, Listeners) ->
    C2S = c2s_module(Api),
    lists:usort([{Mode, Mod} || #{module := M, tls := #{mode := Mode, module := Mod}} <- Listeners,
                                M =:= C2S]).

tls_ga4({4, _}, Listeners) ->
    case lists:keymember(ejabberd_c2s, 2, Listeners) andalso tls_4(Listeners) of
        {Mode, Mod} when Mode =/= none -> [{Mode, Mod}];
        _ -> []
    end;
tls_ga4(Api, Listeners) ->
    %% One event per pair; MongooseIM's foldl prepends, so they come out in reverse order.
    lists:reverse(tls_pairs(Api, Listeners)).

tls_ua({4, _}, Listeners) ->
    [tls_4(Listeners) || lists:keymember(ejabberd_c2s, 2, Listeners)];
tls_ua(Api, Listeners) ->
    tls_pairs(Api, Listeners).

pools({4, _}) ->
    [element(1, P) || P <- ejabberd_config:get_local_option_or_default(outgoing_pools, [])];
pools(_) ->
    [T || #{type := T} <- mongoose_config:get_opt(outgoing_pools)].

%% ---------------------------------------------------------------------------------------------
%% Stanzas

stanza_events(Api, Backend, PrevReport) ->
    [ev(xmpp_stanza_count, #{stanza_type => T, total => Total, increment => Inc})
     || {T, Total, Inc} <- stanza_counts(Api, Backend, PrevReport)].

stanza_counts(Api, Backend, PrevReport) ->
    Prev = prev_totals(PrevReport),
    [{T, Total, Total - maps:get(T, Prev, 0)} || {T, Total} <- stanza_totals(Api, Backend)].

stanza_totals() ->
    maps:from_list(stanza_totals(mongooseim_api(), default)).

stanza_totals(Api, Backend) ->
    case stanza_backend(Api, Backend) of
        none -> [];
        B -> [{T, stanza_total(B, Api, T)} || T <- ?STANZA_TYPES]
    end.

stanza_backend(_Api, B) when B =:= exometer; B =:= prometheus; B =:= none -> B;
stanza_backend(_Api, true) -> exometer;
stanza_backend(_Api, false) -> none;
stanza_backend({6, N}, default) when N >= 6 ->
    case mongoose_config:get_opt(instrumentation) of
        #{prometheus := _} -> prometheus;
        #{exometer := _} -> exometer;
        _ -> none
    end;
stanza_backend({6, N}, default) when N >= 4 ->
    case mongoose_config:lookup_opt([instrumentation, exometer]) of
        {ok, _} -> exometer;
        {error, not_found} -> none
    end;
stanza_backend(_Api, default) -> exometer.

stanza_total(exometer, Api, T) ->
    lists:foldl(fun({_Name, [{count, C}, {one, _}]}, Acc) -> Acc + C end, 0,
                exometer:get_values(mim_standin_metrics:exometer_pattern(Api, T)));
stanza_total(prometheus, _Api, T) ->
    lists:sum([C || {_Labels, C} <- prometheus_counter:values(default,
                                                              mim_standin_metrics:prometheus_name(T))]).

prev_totals(PrevReport) ->
    maps:from_list(
      [{T, Total} || #{name := xmpp_stanza_count, params := #{stanza_type := T, total := Total}}
                         <- PrevReport]
      ++ [{T, Total} || #{report_name := T, key := Total} <- PrevReport,
                        lists:member(T, ?STANZA_TYPES)]).

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
