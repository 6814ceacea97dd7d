/*
 * dev_scsi_impl: what dev_scsi.c and dev_scsi_info.c share.  Not for other modules.
 */
#ifndef VTOKEN_DEV_SCSI_IMPL_H
#define VTOKEN_DEV_SCSI_IMPL_H

#include "server/device/dev_scsi.h"

void dev_scsi_good(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
/* Plans an IN response of len bytes from cmd->buf, cut to alloc. */
void dev_scsi_reply(struct dev_scsi_cmd *cmd, size_t len, uint32_t alloc);
/* True (after setting NOT READY sense) when the medium is unloaded. */
bool dev_scsi_not_ready(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);

void dev_scsi_inquiry(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
void dev_scsi_request_sense(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
void dev_scsi_mode_sense(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
void dev_scsi_read_capacity10(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
void dev_scsi_read_capacity16(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
void dev_scsi_read_format_capacities(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
void dev_scsi_report_luns(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);

#endif
