#include "tools/systemd_notify.h"

#include <systemd/sd-daemon.h>

namespace ringv8::tools {

void NotifyReady(const std::string& status) { sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str()); }

void NotifyStopping() { sd_notify(0, "STOPPING=1"); }

void NotifyStatus(const std::string& status) { sd_notifyf(0, "STATUS=%s", status.c_str()); }

}  // namespace ringv8::tools
