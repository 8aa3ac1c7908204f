%% What a MongooseIM release has and what it loads while it boots.
%%
%% A profile's release (its version, or {api, Vsn}) selects:
%%  * the code layers (directories under erlang/_build/ebin) that hold that release's modules: the
%%    hand-written ones with real behaviour (config, gen_mod, routers, collector, ...) and the
%%    generated rel_<tag> layer (every mod_*, HTTP handler, listener and service module of the
%%    release, from erlang/modules.json);
%%  * the boot set: the modules of those layers that a real node of that release has loaded once
%%    it has started, given the profile's configuration. Real releases run in interactive code
%%    mode, so everything else stays unloaded until something calls it. The reasons, with the
%%    MongooseIM source they come from, are in erlang/README.md ("What a node loads at boot").
-module(mim_standin_era).

-export([layers/1, release_layers/1, release/1, release_modules/1, boot_modules/1,
         service_configured/1, service_running/1, service_reported/1, explicit_report/1,
         instrumentation/1, stanza_backend/1]).

-type version() :: {non_neg_integer(), non_neg_integer(), non_neg_integer()}.
-export_type([version/0]).

%% ---------------------------------------------------------------------------------------------
%% Code layers

%% Every layer on the node's path, in path order (the stand-in's own `common' comes first and is
%% not listed).
-spec layers(map()) -> [atom()].
layers(#{api := not_mim}) -> [];
layers(#{api := V} = P) ->
    release_layers(P) ++ [exometer_core] ++ [prometheus || V >= {6, 3, 0}] ++ [custom].

%% The layers holding MongooseIM's own modules (what the mongooseim application's `modules' key
%% lists): not the dependencies (exometer_core, prometheus) nor the operator's custom modules.
-spec release_layers(map()) -> [atom()].
release_layers(#{api := V}) ->
    {Rel, _, _} = release(V),
    lists:append([[mim],
                  old_layer(V),
                  [gen5 || V >= {5, 1, 0}],
                  [cluster_3_6 || V < {5, 1, 0}] ++ [cluster_5_1 || V >= {5, 1, 0}],
                  [domain || V >= {5, 0, 0}],
                  [config_keys || V >= {5, 1, 0}, V < {6, 2, 0}] ++ [config_map || V >= {6, 2, 0}],
                  [router_5_1 || V >= {5, 1, 0}, V < {6, 2, 0}]
                  ++ [router_6_2 || V >= {6, 2, 0}, V < {6, 7, 0}],
                  [component || V >= {6, 2, 0}],
                  [collector_layer(V)],
                  [Rel]]).

%% ejabberd_config, gen_mod, mongoose_module_metrics, mongoose_service, ejabberd_router of the
%% releases before mongoose_config, with the export list of each.
old_layer(V) when V < {4, 0, 1} -> [ejabberd_3_6];
old_layer(V) when V < {5, 0, 0} -> [ejabberd_4_0_1];
old_layer(V) when V < {5, 1, 0} -> [ejabberd_5_0];
old_layer(_) -> [].

collector_layer(V) when V < {3, 7, 0} -> collect_3_6;
collector_layer(V) when V < {6, 1, 0} -> collect_ua;
collector_layer(V) when V < {6, 4, 0} -> collect_ga4;
collector_layer(V) when V < {6, 6, 0} -> collect_6_4;
collector_layer(_) -> collect_6_6.

%% {GeneratedLayer, ConfigSpecLoaded, UsesModuleMetrics} of the catalogued release with the same
%% major.minor as V: the latest one not newer than V, else the oldest (erlang/modules.json
%% "releases").
-spec release(version()) -> {atom(), [module()], [module()]}.
release(V) ->
    {Release, _Modules} = catalogued(V),
    Release.

%% Every module the real release's .app file lists (application:get_key(mongooseim, modules)),
%% whether or not the stand-in has code for it (erlang/modules.json "modules_added").
-spec release_modules(version()) -> [module()].
release_modules(V) ->
    {_Release, Modules} = catalogued(V),
    Modules.

catalogued({Ma, Mi, _} = V) ->
    Root = filename:dirname(filename:dirname(code:which(?MODULE))),
    {ok, Terms} = file:consult(filename:join(Root, "releases.eterm")),
    Modules = maps:from_list([{Vsn, Mods} || {release_modules, Vsn, Mods} <- Terms]),
    Known = lists:sort([{mim_standin_profile:parse_version(Vsn),
                         {{Layer, Loaded, Uses}, maps:get(Vsn, Modules)}}
                        || {release, Vsn, Layer, Loaded, Uses} <- Terms]),
    Same = [R || {{A, B, _}, _} = R <- Known, A =:= Ma, B =:= Mi],
    case {[R || {RV, _} = R <- Same, RV =< V], Same} of
        {[_ | _] = NotNewer, _} -> element(2, lists:last(NotNewer));
        {[], [{_, Oldest} | _]} -> Oldest;
        {[], []} -> error({no_module_catalog_for_release, V, [RV || {RV, _} <- Known]})
    end.

%% ---------------------------------------------------------------------------------------------
%% The boot set

%% MongooseIM modules (of the release's layers, and custom modules) that a real node of the
%% profile's release and configuration has loaded once it has booted.
-spec boot_modules(map()) -> [module()].
boot_modules(#{api := not_mim}) -> [];
boot_modules(#{api := V} = P) ->
    {_Layer, ConfigSpecLoaded, UsesModuleMetrics} = release(V),
    Configured = lists:usort(lists:append([Ms || {_, Ms} <- mim_standin_profile:modules(P)])),
    lists:usort(lists:append([core(V), ConfigSpecLoaded, Configured, services(P), listeners(P),
                              handlers(P), instrumentation_modules(P), transparency(P),
                              reported(P, Configured, UsesModuleMetrics)])).

%% Loaded by ejabberd_app:start/2 (do_start/0 from 6.2) and the processes it starts, whatever the
%% configuration.
core(V) ->
    Old = V < {5, 1, 0},
    lists:append([[gen_mod, mongoose_service, mongoose_cluster_id, service_mongoose_system_metrics],
                  [ejabberd_config || Old],
                  [mongoose_config || not Old],
                  [mongoose_router || not Old],
                  [ejabberd_router || V < {6, 7, 0}],
                  [mongoose_domain_core || V >= {5, 0, 0}],
                  [mongoose_component || V >= {6, 2, 0}],
                  [mongoose_metrics || V < {6, 3, 0}],
                  [exometer || V < {6, 3, 0}],
                  [mongoose_instrument || V >= {6, 3, 0}],
                  [mongoose_instrument_exometer || V >= {6, 3, 0}],
                  [mongoose_instrument_prometheus || V >= {6, 3, 0}],
                  [mongoose_instrument_log || V >= {6, 3, 0}]]).

%% Configured services are started (and so loaded).
services(P) ->
    case mim_standin_profile:old_config(P) of
        true -> [S || {S, _} <- local(services, P)];
        false -> maps:keys(config(services, P))
    end.

%% Each configured listener is started through its module.
listeners(P) ->
    case mim_standin_profile:old_config(P) of
        true -> [M || {_, M, _} <- local(listen, P)];
        false -> [M || #{module := M} <- config(listen, P)]
    end.

%% HTTP handler modules of the configured listeners: ejabberd_cowboy checks them with
%% code:ensure_loaded/1 (3.6-5.0), mongoose_http_handler:get_routes/1 with
%% mongoose_lib:is_exported/3 (5.1+).
handlers(P) ->
    case mim_standin_profile:old_config(P) of
        true -> [element(3, E) || {_, ejabberd_cowboy, Opts} <- local(listen, P),
                                  {modules, Es} <- Opts, E <- Es];
        false -> [M || #{module := ejabberd_cowboy, handlers := Hs} <- config(listen, P),
                       #{module := M} <- Hs]
    end.

%% 6.3+: the handler of each configured instrumentation backend uses its library at start-up.
instrumentation_modules(#{api := V} = P) when V >= {6, 3, 0} ->
    I = instrumentation(P),
    [exometer || maps:is_key(exometer, I)] ++ [prometheus_counter || maps:is_key(prometheus, I)];
instrumentation_modules(_) ->
    [].

%% A running service without an explicit `report' logs the transparency notice, which names
%% mongoose_system_metrics_file:location().
transparency(P) ->
    [mongoose_system_metrics_file || service_running(P), not explicit_report(P)].

%% Once the service has reported: its collector, the report file, the behaviour module behind the
%% configured modules' config_metrics/1, and the metrics library the stanza counts came from.
reported(#{api := V} = P, Configured, UsesModuleMetrics) ->
    case service_reported(P) of
        false ->
            [];
        true ->
            [mongoose_system_metrics_collector, mongoose_system_metrics_file]
                ++ [mongoose_module_metrics
                    || [M || M <- Configured, lists:member(M, UsesModuleMetrics)] =/= []]
                ++ [exometer || V >= {3, 7, 0}, stanza_backend(P) =:= exometer]
                ++ [prometheus_counter || stanza_backend(P) =:= prometheus]
    end.

%% ---------------------------------------------------------------------------------------------
%% The system-metrics service

service_configured(P) ->
    case mim_standin_profile:old_config(P) of
        true -> proplists:is_defined(service_mongoose_system_metrics, local(services, P));
        false -> maps:is_key(service_mongoose_system_metrics, config(services, P))
    end.

%% Whether the node runs service_mongoose_system_metrics: configured and not switched off
%% (no_report / report = false), unless the profile forces it with {service_running, Bool}.
service_running(#{service_running := Forced}) when is_boolean(Forced) -> Forced;
service_running(P) ->
    service_configured(P) andalso not explicit(P, false).

%% Whether the service has produced a report already: by default, when it runs.
service_reported(#{service_reported := Forced}) when is_boolean(Forced) -> Forced;
service_reported(P) -> service_running(P).

%% `report' or `no_report' given (3.6-5.0), the `report' key present (5.1+).
explicit_report(P) ->
    explicit(P, true) orelse explicit(P, false).

explicit(P, Report) ->
    case mim_standin_profile:old_config(P) of
        true ->
            Opts = proplists:unfold(proplists:get_value(service_mongoose_system_metrics,
                                                        local(services, P), [])),
            case Report of
                true -> proplists:get_value(report, Opts, false) =:= true;
                false -> proplists:get_value(no_report, Opts, false) =:= true
            end;
        false ->
            Opts = maps:get(service_mongoose_system_metrics, config(services, P), #{}),
            maps:get(report, Opts, undefined) =:= Report
    end.

%% ---------------------------------------------------------------------------------------------
%% Instrumentation

%% 6.3+: the `instrumentation' section, always present (include = always, probe_interval 15).
instrumentation(P) ->
    maps:get(instrumentation, config_map(P), #{}).

%% Where the service's collector reads stanza counts: exometer up to 6.3; 6.4-6.5 exometer only
%% when [instrumentation.exometer] is configured, else none; 6.6+ prometheus if configured, else
%% exometer if configured, else none (service_mongoose_system_metrics:init/1 at each tag).
stanza_backend(#{api := V}) when V < {3, 7, 0} -> none;
stanza_backend(#{api := V}) when V < {6, 4, 0} -> exometer;
stanza_backend(#{api := V} = P) when V < {6, 6, 0} ->
    case maps:is_key(exometer, instrumentation(P)) of
        true -> exometer;
        false -> none
    end;
stanza_backend(P) ->
    case instrumentation(P) of
        #{prometheus := _} -> prometheus;
        #{exometer := _} -> exometer;
        _ -> none
    end.

%% ---------------------------------------------------------------------------------------------

local(Key, #{local := L}) -> proplists:get_value(Key, L, []).

config(Key, P) -> maps:get(Key, config_map(P), []).

config_map(P) -> maps:get(config, P, #{}).
