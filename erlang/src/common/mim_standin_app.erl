%% Application callback and top supervisor of the stand-in's `mongooseim' application.
%% Children: the state owner (ets tables, persistent terms) and, when the profile's node runs the
%% system-metrics service, service_mongoose_system_metrics started as MongooseIM starts it (a
%% temporary, brutal_kill worker; ejabberd_sup in MongooseIM).
-module(mim_standin_app).
-behaviour(application).
-behaviour(supervisor).

-export([start/2, stop/1, init/1]).

start(_Type, _Args) ->
    supervisor:start_link({local, mim_standin_sup}, ?MODULE, []).

stop(_State) ->
    ok.

init([]) ->
    P = mim_standin:profile(),
    State = #{id => mim_standin_state,
              start => {mim_standin_state, start_link, []},
              restart => permanent, type => worker},
    Service = #{id => service_mongoose_system_metrics,
                start => {service_mongoose_system_metrics, start_link, [service_opts(P)]},
                restart => temporary, shutdown => brutal_kill, type => worker},
    Children = case mim_standin_era:service_running(P) of
                   true -> [State, Service];
                   false -> [State]
               end,
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, Children}}.

%% What mongoose_service hands the service: the unfolded proplist (3.6-5.0), the opts map (5.1+).
service_opts(P) ->
    case mim_standin_profile:old_config(P) of
        true ->
            Services = proplists:get_value(services, maps:get(local, P), []),
            proplists:unfold(proplists:get_value(service_mongoose_system_metrics, Services, []));
        false ->
            maps:get(service_mongoose_system_metrics, maps:get(services, maps:get(config, P)), #{})
    end.
