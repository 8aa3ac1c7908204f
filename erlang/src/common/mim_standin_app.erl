%% Application callback and top supervisor of the stand-in's `mongooseim' application.
%% Children: the state owner (ets tables, persistent terms) and, when the profile says the
%% system-metrics service runs, a process registered as service_mongoose_system_metrics.
-module(mim_standin_app).
-behaviour(application).
-behaviour(supervisor).

-export([start/2, stop/1, init/1]).

start(_Type, _Args) ->
    supervisor:start_link({local, mim_standin_sup}, ?MODULE, []).

stop(_State) ->
    ok.

init([]) ->
    State = #{id => mim_standin_state,
              start => {mim_standin_state, start_link, []},
              restart => permanent, type => worker},
    Service = #{id => service_mongoose_system_metrics,
                start => {service_mongoose_system_metrics, start_link, []},
                restart => temporary, shutdown => brutal_kill, type => worker},
    Children = case mim_standin_state:service_running(mim_standin:profile()) of
                   true -> [State, Service];
                   false -> [State]
               end,
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, Children}}.
