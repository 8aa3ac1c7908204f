%% Stand-in for mongoose_service of MongooseIM 4.x: services are the local option `services', a
%% proplist {Service, OptsProplist}.
-module(mongoose_service).

-export([is_loaded/1, loaded_services_with_opts/0]).

is_loaded(Service) ->
    proplists:is_defined(Service, loaded_services_with_opts()).

loaded_services_with_opts() ->
    ejabberd_config:get_local_option_or_default(services, []).
