%% Port program for the ETF tests: the real term_to_binary/binary_to_term, without distribution.
%%
%% Started by tests/support/erlvm.py as
%%     erl -noshell -noinput -pa EBIN -s etf_echo start IN_FD OUT_FD
%% and spoken to over two pipes with {packet, 4} framing (stdout stays free for VM noise).
%%
%% Request:  Op:8, OptLen:16, Options:OptLen/binary (Erlang term text, e.g. "[compressed]"), Data
%% Reply:    $o, Result    or    $x, ErrorText
%%
%%   $e  echo   Data = ETF           -> term_to_binary(binary_to_term(Data), Options)
%%   $v  eval   Data = expression    -> term_to_binary(Value, Options)   (UTF-8 source text)
%%   $q  equal  Data = Len:32, A:Len/binary, B/binary (both ETF)
%%                                   -> <<1>> if binary_to_term(A) =:= binary_to_term(B), else <<0>>
%%   $i  info                        -> "OtpRelease Node Creation OtpVersion"
%%
%% sample_fun/0 and sample_closure/1 give the vectors real (compiled, non-erl_eval) funs.
-module(etf_echo).
-export([start/1, sample_fun/0, sample_closure/1]).

start([In, Out]) ->
    logger:set_primary_config(level, none),
    Port = open_port({fd, list_to_integer(atom_to_list(In)), list_to_integer(atom_to_list(Out))},
                     [binary, {packet, 4}]),
    loop(Port).

sample_fun() -> fun() -> ok end.

sample_closure(X) -> fun(Y) -> {X, Y} end.

loop(Port) ->
    receive
        {Port, {data, <<Op, OptLen:16, Opts:OptLen/binary, Data/binary>>}} ->
            Reply = try <<$o, (handle(Op, parse(Opts), Data))/binary>>
                    catch Class:Reason ->
                        unicode:characters_to_binary(
                          io_lib:format("x~p:~0tp", [Class, Reason]))
                    end,
            Port ! {self(), {command, Reply}},
            loop(Port);
        {Port, {data, _}} ->
            Port ! {self(), {command, <<"xbadrequest">>}},
            loop(Port);
        {'EXIT', Port, _} ->
            halt(0);
        {Port, closed} ->
            halt(0)
    end.

handle($e, Opts, Data) ->
    term_to_binary(binary_to_term(Data), Opts);
handle($v, Opts, Data) ->
    term_to_binary(eval(Data), Opts);
handle($q, _Opts, <<Len:32, A:Len/binary, B/binary>>) ->
    case binary_to_term(A) =:= binary_to_term(B) of
        true -> <<1>>;
        false -> <<0>>
    end;
handle($i, _Opts, _) ->
    Release = erlang:system_info(otp_release),
    Version = otp_version(Release),
    unicode:characters_to_binary(
      io_lib:format("~s ~s ~w ~s", [Release, node(), erlang:system_info(creation), Version])).

parse(<<>>) -> [];
parse(Text) -> eval(Text).

eval(Source) ->
    {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Source) ++ "."),
    {ok, Exprs} = erl_parse:parse_exprs(Tokens),
    {value, Value, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
    Value.

otp_version(Release) ->
    File = filename:join([code:root_dir(), "releases", Release, "OTP_VERSION"]),
    case file:read_file(File) of
        {ok, Bin} -> string:trim(binary_to_list(Bin));
        _ -> Release
    end.
