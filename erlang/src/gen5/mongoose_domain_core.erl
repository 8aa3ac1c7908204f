%% Stand-in for mongoose_domain_core (5.0+): static and dynamic domains in the ets table
%% mongoose_domain_core, one {Domain, HostType, static | dynamic} row each.
-module(mongoose_domain_core).

-export([domains_count/0, get_host_type/1, get_domains_by_host_type/1]).

domains_count() ->
    ets:info(?MODULE, size).

get_host_type(Domain) ->
    case ets:lookup(?MODULE, Domain) of
        [{_, HostType, _}] -> {ok, HostType};
        [] -> {error, not_found}
    end.

get_domains_by_host_type(HostType) ->
    ets:select(?MODULE, [{{'$1', HostType, '_'}, [], ['$1']}]).
