#include "tests/harness/slurm_config.h"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace healthtwin::testing::slurm {
namespace {

// Whether a TCP port can be bound on 0.0.0.0 right now.
bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string ConfText(const ConfParams& p) {
  const std::string& d = p.dir;
  return absl::StrCat(  //
      "# Written by the healthtwin Slurm test harness (tests/harness/slurm_cluster.h).\n", "ClusterName=ht", p.port,
      "\n",                            //
      "SlurmctldHost=localhost\n",     //
      "SlurmctldPort=", p.port, "\n",  //
      "SlurmdPort=", p.port + kSlurmdPortOffset, "\n", "SrunPortRange=", p.port + kSrunPortFirstOffset, "-",
      p.port + kSrunPortLastOffset, "\n",
      "AuthType=auth/munge\nCredType=cred/munge\n",                                                   //
      "AuthInfo=socket=", d, "/munge/munge.sock\n",                                                   //
      "SlurmUser=", p.user, "\nSlurmdUser=", p.user, "\n", "StateSaveLocation=", d, "/spool/ctld\n",  //
      "SlurmdSpoolDir=", d, "/spool/d\n",                                                             //
      "SlurmctldPidFile=", d, "/run/slurmctld.pid\n", "SlurmdPidFile=", d, "/run/slurmd.pid\n",       //
      "SlurmctldLogFile=", d, "/log/slurmctld.log\n", "SlurmdLogFile=", d, "/log/slurmd.log\n",       //
      "PlugStackConfig=", d, "/etc/plugstack.conf\n",
      "MailProg=/bin/true\n"
      "ProctrackType=proctrack/linuxproc\n"
      "TaskPlugin=task/none\n"
      "SelectType=select/cons_tres\n"
      "SelectTypeParameters=CR_Core\n"
      "SchedulerType=sched/backfill\n"
      "SchedulerParameters=batch_sched_delay=0,bf_interval=1\n"
      "SwitchType=switch/none\n"
      "MpiDefault=none\n"
      "JobAcctGatherType=jobacct_gather/none\n"
      "AccountingStorageType=accounting_storage/none\n"
      "JobCompType=jobcomp/none\n"
      "ReturnToService=2\n"
      "SlurmctldTimeout=30\n"
      "SlurmdTimeout=30\n"
      "InactiveLimit=0\n"
      "MinJobAge=300\n"
      "KillWait=5\n"
      "Waittime=0\n",
      "NodeName=localhost NodeAddr=127.0.0.1 CPUs=", p.cpus, " RealMemory=1000 State=UNKNOWN\n",
      "PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n");
}

absl::StatusOr<int> PickControllerPort() {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(200, 590);  // P = 100 * pick: srun ranges never overlap
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int port = pick(rng) * 100;
    if (PortFree(port) && PortFree(port + kSlurmdPortOffset)) return port;
  }
  return absl::UnavailableError("no free pair of TCP ports for slurmctld and slurmd in 50 tries");
}

absl::StatusOr<std::string> FindProgram(absl::string_view program) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs = absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty());
  dirs.push_back("/usr/sbin");
  dirs.push_back("/sbin");
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/", program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("'", program,
                                          "' not found on PATH, /usr/sbin or /sbin; install the Debian packages "
                                          "slurmctld slurmd slurm-client munge (scripts/bootstrap.sh)"));
}

std::string CurrentUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : std::to_string(::geteuid());
}

}  // namespace healthtwin::testing::slurm
