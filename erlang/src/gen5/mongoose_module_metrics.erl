%% Stand-in for the mongoose_module_metrics behaviour of MongooseIM 5.1+
%% (5.1.0:src/system_metrics/mongoose_module_metrics.erl): opts_for_module/3 reads
%% each key from the module's opts map (no defaults); any missing key or error gives
%% [{none, none}] for the whole module.
-module(mongoose_module_metrics).

-export([opts_for_module/3]).

-callback config_metrics(HostType :: binary()) -> [{atom(), term()}].
-optional_callbacks([config_metrics/1]).

opts_for_module(HostType, Module, Keys) ->
    try
        Opts = gen_mod:get_module_opts(HostType, Module),
        lists:map(fun(Key) -> {Key, gen_mod:get_opt(Key, Opts)} end, Keys)
    catch _:_ ->
        [{none, none}]
    end.
