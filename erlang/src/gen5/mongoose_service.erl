%% Stand-in for mongoose_service (5.1+): services are the config key `services', a map
%% Service => OptsMap.
-module(mongoose_service).

-export([is_loaded/1, loaded_services_with_opts/0]).

is_loaded(Service) ->
    case mongoose_config:lookup_opt([services, Service]) of
        {ok, _} -> true;
        {error, not_found} -> false
    end.

loaded_services_with_opts() ->
    mongoose_config:get_opt(services).
