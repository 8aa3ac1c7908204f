%% A tiny JSON encoder for the baseline report (OTP 25 has no json module). Like jiffy: atoms are
%% strings except true/false/null, binaries are strings, maps are objects (keys sorted here so the
%% output is stable), lists are arrays.
-module(mim_standin_json).

-export([encode/1]).

encode(Term) -> iolist_to_binary(enc(Term)).

enc(true) -> <<"true">>;
enc(false) -> <<"false">>;
enc(null) -> <<"null">>;
enc(A) when is_atom(A) -> str(atom_to_binary(A, utf8));
enc(B) when is_binary(B) -> str(B);
enc(I) when is_integer(I) -> integer_to_binary(I);
enc(F) when is_float(F) -> float_to_binary(F, [short]);
enc(M) when is_map(M) ->
    Pairs = [[key(K), $:, enc(V)] || {K, V} <- lists:sort(maps:to_list(M))],
    [${, lists:join($,, Pairs), $}];
enc(L) when is_list(L) -> [$[, lists:join($,, [enc(X) || X <- L]), $]];
enc(Other) -> error({not_json, Other}).

key(K) when is_atom(K) -> str(atom_to_binary(K, utf8));
key(K) when is_binary(K) -> str(K);
key(K) when is_integer(K) -> str(integer_to_binary(K)).

str(B) -> [$", [esc(C) || C <- unicode:characters_to_list(B)], $"].

esc($") -> <<"\\\"">>;
esc($\\) -> <<"\\\\">>;
esc($\n) -> <<"\\n">>;
esc($\r) -> <<"\\r">>;
esc($\t) -> <<"\\t">>;
esc(C) when C < 16#20 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> unicode:characters_to_binary([C]).
