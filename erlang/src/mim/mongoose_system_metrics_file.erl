%% Stand-in for mongoose_system_metrics_file. The stand-in has no disk_log logger handler, so the
%% log dir is "" and the location is "/system_metrics_report.json", as on such a real node
%% (mim-internals.md section 7, item 15). Nothing is written there.
-module(mongoose_system_metrics_file).

-export([location/0]).

location() ->
    log_dir() ++ "/system_metrics_report.json".

log_dir() -> "".
