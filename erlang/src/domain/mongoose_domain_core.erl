%% Stand-in for mongoose_domain_core (5.0+): every domain in the ets table mongoose_domain_core,
%% one {Domain, HostType, Source} row each, Source = config for the static domains (the hosts)
%% and {dynamic, Source} for the ones from the domain database
%% (5.0.0/6.2.0:src/domain/mongoose_domain_core.erl).
-module(mongoose_domain_core).

-export([domains_count/0, get_host_type/1, is_static/1, get_domains_by_host_type/1,
         get_all_static/0]).

domains_count() ->
    ets:info(?MODULE, size).

get_host_type(Domain) ->
    case ets:lookup(?MODULE, Domain) of
        [] -> {error, not_found};
        [{_Domain, HostType, _Source}] -> {ok, HostType}
    end.

is_static(Domain) ->
    ets:match(?MODULE, {Domain, '_', config}) =/= [].

get_domains_by_host_type(HostType) ->
    ets:select(?MODULE, [{{'$1', HostType, '_'}, [], ['$1']}]).

get_all_static() ->
    ets:select(?MODULE, [{{'$1', '$2', config}, [], [{{'$1', '$2'}}]}]).
