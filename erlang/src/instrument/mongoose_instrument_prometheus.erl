%% Marker for MongooseIM 6.3+: the prometheus instrumentation handler exists (the collector
%% reads prometheus only from 6.6).
-module(mongoose_instrument_prometheus).
