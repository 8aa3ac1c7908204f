%% Stand-in for mongoose_service of MongooseIM 3.6-5.0: started services live in the ets table
%% mongoose_services as {Service, UnfoldedOpts} (proplists:unfold/1 of the configured list, so a
%% bare `report' reads {report, true}); the configured ones are the local option `services'
%% (3.6.0/5.0.0:src/mongoose_service.erl).
-module(mongoose_service).

-export([is_loaded/1, get_service_opts/1, loaded_services_with_opts/0]).

is_loaded(Service) ->
    ets:member(mongoose_services, Service).

get_service_opts(Service) ->
    case ets:lookup(mongoose_services, Service) of
        [] -> [];
        [{Service, Opts}] -> Opts
    end.

loaded_services_with_opts() ->
    ets:tab2list(mongoose_services).
