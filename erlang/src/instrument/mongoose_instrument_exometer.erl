%% Marker for MongooseIM 6.3+: the exometer instrumentation handler exists.
-module(mongoose_instrument_exometer).
