%% Stand-in for gen_mod of MongooseIM 5.1+: modules come from the config key {modules, HostType},
%% a map Module => OptsMap (5.1.0/6.2.0:src/gen_mod.erl).
-module(gen_mod).

-export([loaded_modules/0, loaded_modules/1, loaded_modules_with_opts/0, loaded_modules_with_opts/1,
         get_module_opts/2, get_loaded_module_opts/2, get_module_opt/3, get_opt/2, get_opt/3, is_loaded/2,
         hosts_with_module/1]).

-callback start(HostType :: binary(), Opts :: map()) -> any().
-callback stop(HostType :: binary()) -> any().

loaded_modules() ->
    lists:usort(lists:append([loaded_modules(HT) || HT <- all_host_types()])).

loaded_modules(HostType) ->
    maps:keys(loaded_modules_with_opts(HostType)).

loaded_modules_with_opts() ->
    maps:from_list([{HT, loaded_modules_with_opts(HT)} || HT <- all_host_types()]).

loaded_modules_with_opts(HostType) ->
    mongoose_config:get_opt({modules, HostType}).

%% The module's opts map, or #{} when it is not loaded for the host type.
get_module_opts(HostType, Module) ->
    mongoose_config:get_opt([{modules, HostType}, Module], #{}).

get_loaded_module_opts(HostType, Module) ->
    mongoose_config:get_opt([{modules, HostType}, Module]).

get_module_opt(HostType, Module, Path) ->
    get_opt(Path, get_module_opts(HostType, Module)).

get_opt(Path, Opts) when is_list(Path) -> lists:foldl(fun maps:get/2, Opts, Path);
get_opt(Key, Opts) -> maps:get(Key, Opts).

get_opt(Path, Opts, Default) ->
    try get_opt(Path, Opts)
    catch error:{badkey, _} -> Default
    end.

is_loaded(HostType, Module) ->
    maps:is_key(Module, loaded_modules_with_opts(HostType)).

hosts_with_module(Module) ->
    [HT || HT <- all_host_types(), is_loaded(HT, Module)].

all_host_types() ->
    mongoose_config:get_opt(hosts) ++ mongoose_config:get_opt(host_types).
