%% Stand-in for mongoose_cluster_id (all releases): the cached cluster id, i.e. the client id
%% of the system-metrics reports. Storage: the ets table mongoose_cluster_id holding the mnesia
%% record {mongoose_cluster_id, cluster_id, Id}; from 6.2, when internal_databases has cets, the ets
%% table cets_cluster_id holding {cluster_id, Id}. There is no RDBMS behind the stand-in.
-module(mongoose_cluster_id).

-export([get_cached_cluster_id/0, get_backend_cluster_id/0]).

get_cached_cluster_id() ->
    case mim_standin:api() >= {6, 2, 0} of
        true ->
            %% Neither key present: a case_clause, as on a real node.
            case mongoose_config:get_opt(internal_databases) of
                #{cets := _} -> cets_cached();
                #{mnesia := _} -> mnesia_cached()
            end;
        false ->
            mnesia_cached()
    end.

%% Without a persistent RDBMS backend: up to 6.3 the cached value, from 6.4 an error.
get_backend_cluster_id() ->
    case mim_standin:api() >= {6, 4, 0} of
        true -> {error, no_value_in_backend};
        false -> get_cached_cluster_id()
    end.

mnesia_cached() ->
    case ets:lookup(mongoose_cluster_id, cluster_id) of
        [{mongoose_cluster_id, cluster_id, Id}] -> {ok, Id};
        [] -> {error, cluster_id_not_in_mnesia}
    end.

cets_cached() ->
    case ets:lookup(cets_cluster_id, cluster_id) of
        [{cluster_id, Id}] -> {ok, Id};
        [] -> {error, cluster_id_not_in_cets}
    end.
