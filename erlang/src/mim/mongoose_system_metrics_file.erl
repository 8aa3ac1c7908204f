%% Stand-in for mongoose_system_metrics_file. The log dir is the lager log_root (3.x) or the
%% directory of the disk_log logger handler (4.0+); a stand-in has neither, so it is "" and the
%% location is "/system_metrics_report.json", as on such a real node (mim-internals.md section 7,
%% item 15). save/1 writes nothing: the stand-in's service never reports.
-module(mongoose_system_metrics_file).

-export([location/0, save/1]).

location() ->
    log_dir() ++ "/system_metrics_report.json".

save(_Reports) ->
    ok.

log_dir() -> "".
