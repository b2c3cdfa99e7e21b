// Telling systemd where a service is (Type=notify units): READY=1 once serving, STOPPING=1 when a
// stop begins, STATUS= lines in between. Does nothing when not started by systemd
// ($NOTIFY_SOCKET unset). Thread-safe (sd_notify is).
#ifndef RINGV8_TOOLS_SYSTEMD_NOTIFY_H_
#define RINGV8_TOOLS_SYSTEMD_NOTIFY_H_

#include <string>

namespace ringv8::tools {

void NotifyReady(const std::string& status);
void NotifyStopping();
void NotifyStatus(const std::string& status);

}  // namespace ringv8::tools

#endif  // RINGV8_TOOLS_SYSTEMD_NOTIFY_H_
