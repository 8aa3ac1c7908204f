%% not_mim: a plain Erlang/OTP node that is not MongooseIM. No `mongooseim' application, none of
%% MongooseIM's modules on the code path; only the stand-in's own boot code (mim_standin*).
{api, not_mim}.
