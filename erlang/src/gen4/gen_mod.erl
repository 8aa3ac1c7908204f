%% Stand-in for gen_mod of MongooseIM 4.x: loaded modules live in the ets table ejabberd_modules
%% as {ejabberd_module, {Module, Host}, OptsProplist}. loaded_modules/1 is an ets select, so its
%% order is the table's, not sorted (as observed on a real 4.2.0 node).
-module(gen_mod).

-export([loaded_modules/1, loaded_modules_with_opts/1, opts_for_module/2, get_module_opts/2,
         get_module_opt/4, is_loaded/2]).

-callback start(Host :: binary(), Opts :: list()) -> any().
-callback stop(Host :: binary()) -> any().

loaded_modules(Host) ->
    ets:select(ejabberd_modules, [{{ejabberd_module, {'$1', Host}, '_'}, [], ['$1']}]).

loaded_modules_with_opts(Host) ->
    ets:select(ejabberd_modules, [{{ejabberd_module, {'$1', Host}, '$2'}, [], [{{'$1', '$2'}}]}]).

opts_for_module(Host, Module) ->
    case ets:lookup(ejabberd_modules, {Module, Host}) of
        [{ejabberd_module, _, Opts}] -> Opts;
        [] -> []
    end.

get_module_opts(Host, Module) ->
    opts_for_module(Host, Module).

get_module_opt(Host, Module, Opt, Default) ->
    proplists:get_value(Opt, opts_for_module(Host, Module), Default).

is_loaded(Host, Module) ->
    ets:member(ejabberd_modules, {Module, Host}).
