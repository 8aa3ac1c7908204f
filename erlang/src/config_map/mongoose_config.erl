%% Stand-in for mongoose_config of MongooseIM 6.2+: the whole configuration is one map in
%% persistent_term under the key mongoose_config. get_opt/1 folds maps:get/2 over the key path,
%% so a missing key raises {badkey, Key} (with the whole map in the stack, as on a real node).
-module(mongoose_config).

-export([get_opts/0, get_opt/1, get_opt/2, lookup_opt/1, get_config_path/0]).

get_opts() ->
    persistent_term:get(?MODULE).

get_opt(Path) when is_list(Path) ->
    lists:foldl(fun maps:get/2, get_opts(), Path);
get_opt(Key) ->
    get_opt([Key]).

get_opt(Key, Default) ->
    case lookup_opt(Key) of
        {ok, V} -> V;
        {error, not_found} -> Default
    end.

lookup_opt(Key) ->
    try
        {ok, get_opt(Key)}
    catch
        error:{badkey, _} -> {error, not_found}
    end.

%% A charlist: the `config' env of the mongooseim application, else EJABBERD_CONFIG_PATH.
get_config_path() ->
    application:get_env(mongooseim, config,
                        os:getenv("EJABBERD_CONFIG_PATH", "etc/mongooseim.toml")).
