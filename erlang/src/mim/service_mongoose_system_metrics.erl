%% Stand-in for service_mongoose_system_metrics. When the profile's node "runs" the service, a
%% gen_server is registered under this name; it never reports, but sys:get_state/1 shows the state
%% record of the generation:
%%   3.7-5.0   {system_metrics_state, ReportAfter, ReporterMonitor, ReporterPid, PrevReport}
%%   5.1-6.3   {..., ReporterPid, PrevReport, TrackingIds}
%%   6.4-6.5   {..., ReporterPid, ExometerEnabled, PrevReport, TrackingIds}
%%   6.6+      {..., ReporterPid, MetricsModule, PrevReport, TrackingIds}
-module(service_mongoose_system_metrics).
-behaviour(gen_server).

-export([start_link/0, start_link/1, verify_if_configured/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(DEFAULT_PERIODIC, 10800000).

start_link() -> start_link(opts()).

start_link(Opts) ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, Opts, []).

%% ok when the service is configured, ignore when it is not (the real one also logs then).
verify_if_configured() ->
    case configured() of
        true -> ok;
        false -> ignore
    end.

init(Opts) ->
    {ok, state(mim_standin:api(), Opts)}.

handle_call(_Req, _From, S) -> {reply, ok, S}.
handle_cast(_Msg, S) -> {noreply, S}.
handle_info(_Msg, S) -> {noreply, S}.

%% ---------------------------------------------------------------------------------------------

configured() ->
    case mim_standin:api() of
        {4, _} -> proplists:is_defined(?MODULE, ejabberd_config:get_local_option_or_default(services, []));
        _ -> mongoose_service:is_loaded(?MODULE)
    end.

opts() ->
    case mim_standin:api() of
        {4, _} -> proplists:get_value(?MODULE, ejabberd_config:get_local_option_or_default(services, []), []);
        _ -> mongoose_config:get_opt([services, ?MODULE], #{})
    end.

state({4, _}, Opts) ->
    {system_metrics_state, proplists:get_value(periodic_report, Opts, ?DEFAULT_PERIODIC),
     undefined, undefined, []};
state({6, N} = Api, Opts) when N >= 6 ->
    {system_metrics_state, periodic(Opts), undefined, undefined, metrics_module(),
     [], tracking_ids(Api, Opts)};
state({6, N} = Api, Opts) when N >= 4 ->
    {system_metrics_state, periodic(Opts), undefined, undefined,
     element(1, mongoose_config:lookup_opt([instrumentation, exometer])) =:= ok,
     [], tracking_ids(Api, Opts)};
state(Api, Opts) ->
    {system_metrics_state, periodic(Opts), undefined, undefined, [], tracking_ids(Api, Opts)}.

periodic(Opts) -> maps:get(periodic_report, Opts, ?DEFAULT_PERIODIC).

metrics_module() ->
    case mongoose_config:get_opt(instrumentation, #{}) of
        #{prometheus := _} -> prometheus;
        #{exometer := _} -> exometer;
        _ -> none
    end.

%% The predefined id first, then the configured extra one. The stand-in is a development build.
tracking_ids(Api, Opts) when Api >= {6, 1} ->
    [#{id => "G-7KQE4W9SVJ", secret => "stand-in-has-no-secret"}
     | [T || T <- [maps:get(tracking_id, Opts, undefined)], T =/= undefined]];
tracking_ids(_Api, Opts) ->
    ["UA-151671255-2" | [T || T <- [maps:get(tracking_id, Opts, undefined)], T =/= undefined]].
