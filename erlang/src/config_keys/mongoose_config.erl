%% Stand-in for mongoose_config of MongooseIM 5.1-6.1: one persistent_term per top-level key,
%% {mongoose_config, Key}. A key path [Key | Rest] walks nested maps. get_opt/1 raises badarg for
%% a missing top-level key and {badkey, K} for a missing nested one. There is no get_opts/0.
-module(mongoose_config).

-export([get_opt/1, get_opt/2, lookup_opt/1, get_config_path/0]).

get_opt([Key | Path]) ->
    lists:foldl(fun maps:get/2, persistent_term:get({?MODULE, Key}), Path);
get_opt(Key) ->
    persistent_term:get({?MODULE, Key}).

get_opt(Key, Default) ->
    case lookup_opt(Key) of
        {ok, V} -> V;
        {error, not_found} -> Default
    end.

lookup_opt(Key) ->
    try
        {ok, get_opt(Key)}
    catch
        error:badarg -> {error, not_found};
        error:{badkey, _} -> {error, not_found}
    end.

%% A charlist: the `config' env of the mongooseim application, else EJABBERD_CONFIG_PATH.
get_config_path() ->
    application:get_env(mongooseim, config,
                        os:getenv("EJABBERD_CONFIG_PATH", "etc/mongooseim.toml")).
