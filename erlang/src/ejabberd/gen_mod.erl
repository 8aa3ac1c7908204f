%% Stand-in for gen_mod of MongooseIM 3.6-5.0: started modules live in the ets table
%% ejabberd_modules as {ejabberd_module, {Module, Host}, OptsProplist} (the record's first field
%% is `module_host' up to 4.2 and `module_host_type' in 5.0; the tuple is the same). The table is
%% a set, so loaded_modules/1 comes in the table's hash order, not sorted (as observed on 4.2.0).
%%
%% Exports by release (3.6.0/4.2.0/5.0.0:src/gen_mod.erl):
%%   3.6-4.2  opts_for_module/2 (what mongoose_module_metrics and mod_event_pusher read)
%%   5.0      loaded_modules/0, loaded_modules_with_opts/0, hosts_with_module/1,
%%            get_loaded_module_opts/2 instead of opts_for_module/2 (-DHOST_TYPES)
-module(gen_mod).

-export([loaded_modules/1, loaded_modules_with_opts/1, get_module_opts/2, get_module_opt/4,
         is_loaded/2]).
-ifdef(HOST_TYPES).
-export([loaded_modules/0, loaded_modules_with_opts/0, hosts_with_module/1,
         get_loaded_module_opts/2]).
-else.
-export([opts_for_module/2]).
-endif.

-callback start(Host :: binary(), Opts :: list()) -> any().
-callback stop(Host :: binary()) -> any().

loaded_modules(Host) ->
    ets:select(ejabberd_modules, [{{ejabberd_module, {'$1', Host}, '_'}, [], ['$1']}]).

loaded_modules_with_opts(Host) ->
    ets:select(ejabberd_modules, [{{ejabberd_module, {'$1', Host}, '$2'}, [], [{{'$1', '$2'}}]}]).

get_module_opts(Host, Module) ->
    case ets:lookup(ejabberd_modules, {Module, Host}) of
        [] -> [];
        [{ejabberd_module, _, Opts} | _] -> Opts
    end.

get_module_opt(Host, Module, Opt, Default) ->
    proplists:get_value(Opt, get_module_opts(Host, Module), Default).

is_loaded(Host, Module) ->
    ets:member(ejabberd_modules, {Module, Host}).

-ifdef(HOST_TYPES).
loaded_modules() ->
    lists:usort([M || {ejabberd_module, {M, _}, _} <- ets:tab2list(ejabberd_modules)]).

loaded_modules_with_opts() ->
    Rows = ets:select(ejabberd_modules,
                      [{{ejabberd_module, {'$1', '$2'}, '$3'}, [], [{{'$2', '$1', '$3'}}]}]),
    maps:from_list([{H, [{M, Opts} || {HH, M, Opts} <- Rows, HH =:= H]}
                    || H <- lists:usort([H || {H, _, _} <- Rows])]).

hosts_with_module(Module) ->
    ets:select(ejabberd_modules, [{{ejabberd_module, {Module, '$1'}, '_'}, [], ['$1']}]).

get_loaded_module_opts(HostType, Module) ->
    case ets:lookup(ejabberd_modules, {Module, HostType}) of
        [] -> error({module_not_loaded, HostType, Module});
        [{ejabberd_module, _, Opts} | _] -> Opts
    end.
-else.
opts_for_module(Host, Module) ->
    case ets:select(ejabberd_modules, [{{ejabberd_module, {Module, Host}, '$1'}, [], [{{'$1'}}]}]) of
        [{Opts}] -> Opts;
        [] -> []
    end.
-endif.
