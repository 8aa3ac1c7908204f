%% Stand-in for service_mongoose_system_metrics (3.6.0 ... 6.8.0:src/system_metrics/
%% service_mongoose_system_metrics.erl). When the profile's node runs the service, the stand-in's
%% supervisor starts this gen_server under its registered name with the options MongooseIM would
%% pass; init/1 decides as the release's does (`ignore' for no_report / report = false, the
%% transparency notice without an explicit `report'), and sys:get_state/1 shows the state record of
%% the release:
%%   3.6       {system_metrics_state, ReportAfter, ReporterMonitor, ReporterPid}
%%   3.7-5.0   {..., ReporterPid, PrevReport}
%%   5.1-6.3   {..., ReporterPid, PrevReport, TrackingIds}
%%   6.4-6.5   {..., ReporterPid, ExometerEnabled, PrevReport, TrackingIds}
%%   6.6+      {..., ReporterPid, MetricsModule, PrevReport, TrackingIds}
%% It never arms the report timer: a stand-in sends nothing anywhere.
-module(service_mongoose_system_metrics).
-behaviour(gen_server).

-export([start/1, stop/0, verify_if_configured/0]).
-export([start_link/1, init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-define(DEFAULT_REPORT_AFTER, 10800000).

%% ok when the service is configured, ignore (after a warning on a real node) when it is not.
verify_if_configured() ->
    case mim_standin_era:service_configured(mim_standin:profile()) of
        true -> ok;
        false -> ignore
    end.

start(Opts) ->
    Spec = #{id => ?MODULE, start => {?MODULE, start_link, [Opts]},
             restart => temporary, shutdown => brutal_kill, type => worker},
    supervisor:start_child(mim_standin_sup, Spec).

stop() ->
    _ = supervisor:terminate_child(mim_standin_sup, ?MODULE),
    supervisor:delete_child(mim_standin_sup, ?MODULE).

start_link(Opts) ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, Opts, []).

init(Opts) ->
    V = mim_standin:api(),
    case report_transparency(V, Opts) of
        skip -> ignore;
        continue -> {ok, state(V, Opts)}
    end.

handle_call(_Req, _From, S) -> {reply, ok, S}.
handle_cast(_Msg, S) -> {noreply, S}.
handle_info(_Msg, S) -> {noreply, S}.
terminate(_Reason, _State) -> ok.

%% ---------------------------------------------------------------------------------------------

report_transparency(V, Opts) when V < {5, 1, 0} ->
    case {proplists:get_value(no_report, Opts, false), proplists:get_value(report, Opts, false)} of
        {true, _} -> skip;
        {_, true} -> continue;
        _ -> notice()
    end;
report_transparency(_V, #{report := false}) -> skip;
report_transparency(_V, #{report := true}) -> continue;
report_transparency(_V, #{}) -> notice().

notice() ->
    File = mongoose_system_metrics_file:location(),
    logger:notice(#{what => report_transparency, report_filename => File}),
    continue.

state(V, Opts) when V < {5, 1, 0} ->
    ReportAfter = metrics_module_config(Opts),
    case V < {3, 7, 0} of
        true -> {system_metrics_state, ReportAfter, none, none};
        false -> {system_metrics_state, ReportAfter, none, none, []}
    end;
state(V, Opts) when V < {6, 4, 0} ->
    {system_metrics_state, periodic(Opts), none, none, [], tracking_ids(V, Opts)};
state(V, Opts) when V < {6, 6, 0} ->
    ExometerEnabled = element(1, mongoose_config:lookup_opt([instrumentation, exometer])) =:= ok,
    {system_metrics_state, periodic(Opts), none, none, ExometerEnabled, [], tracking_ids(V, Opts)};
state(V, Opts) ->
    MetricsModule = case mongoose_config:get_opt(instrumentation) of
                        #{prometheus := _} -> prometheus;
                        #{exometer := _} -> exometer;
                        _ -> none
                    end,
    {system_metrics_state, periodic(Opts), none, none, MetricsModule, [], tracking_ids(V, Opts)}.

%% 3.6-5.0 keep the tracking ids in ejabberd_config's local options.
metrics_module_config(Opts) ->
    ejabberd_config:add_local_option(extra_google_analytics_tracking_id,
                                     proplists:get_value(tracking_id, Opts, undefined)),
    {Id, Periodic} = case ci() of
                         true -> {"UA-151671255-1", 300000};
                         false -> {"UA-151671255-3", ?DEFAULT_REPORT_AFTER}
                     end,
    ejabberd_config:add_local_option(google_analytics_tracking_id, Id),
    proplists:get_value(periodic_report, Opts, Periodic).

%% The config spec's default (5.1+) when a profile forces the service on without configuring it.
periodic(Opts) -> maps:get(periodic_report, Opts, ?DEFAULT_REPORT_AFTER).

%% The predefined id of a release build (the `prod' rebar profile defines PROD_NODE), or of CI,
%% then the configured extra one.
tracking_ids(V, Opts) when V < {6, 1, 0} ->
    Predefined = case ci() of
                     true -> "UA-151671255-1";
                     false -> "UA-151671255-3"
                 end,
    [Predefined | [T || T <- [maps:get(tracking_id, Opts, undefined)], T =/= undefined]];
tracking_ids(_V, Opts) ->
    Predefined = case ci() of
                     true -> #{id => "G-VB91V60SKT", secret => "LFxdCgDsSa-OAPtBnLDqpQ"};
                     false -> #{id => "G-B4S18X6KY5", secret => "Rj6lopOLQZ2HPLj50QtYeQ"}
                 end,
    [Predefined | [T || T <- [maps:get(tracking_id, Opts, undefined)], T =/= undefined]].

ci() -> os:getenv("CI") =:= "true".
