%% Stand-in for the exometer_core API that MongooseIM's collector uses (the exometer_core
%% application is in every release 3.6-6.8).
%% get_values(Path) is a prefix match ('_' matches any element): every metric whose name starts
%% with Path, as [{Name, DataPoints}]. The stanza metrics are spirals: [{count, C}, {one, O}].
-module(exometer).

-export([get_values/1, get_value/1]).

-define(TAB, mim_standin_exometer).

get_values(Path) when is_list(Path) ->
    [{Name, [{count, C}, {one, O}]} || {Name, C, O} <- rows(), prefix(Path, Name)].

get_value(Name) when is_list(Name) ->
    case ets:lookup(?TAB, Name) of
        [{Name, C, O}] -> {ok, [{count, C}, {one, O}]};
        [] -> {error, not_found}
    end.

rows() ->
    case ets:info(?TAB, size) of
        undefined -> [];
        _ -> ets:tab2list(?TAB)
    end.

prefix([], _Name) -> true;
prefix(['_' | P], [_ | N]) -> prefix(P, N);
prefix([X | P], [X | N]) -> prefix(P, N);
prefix(_, _) -> false.
